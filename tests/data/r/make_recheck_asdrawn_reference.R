# Reference values for the re-check round on the design as drawn (evalkit.assessment.followup
# with params/default.yaml's design): the assessment and the re-check stacked in one
# three-stage design, villages by PPS without replacement (Brewer's approximation, village_prob),
# the household-type lists taken whole (fpc 1), households by simple random sampling within
# each list (household_prob = incl_prob / village_prob, as evalkit.assessment.inputs derives
# it); a village in both rounds is one PSU, a household in both rounds two last-stage units.
# Weights linearly calibrated to the frame's household and people totals by type, each model
# column times the round (each round calibrated to its own totals); each round's estimate
# and the change by svytotal + svycontrast (cross-checked with svyby), for two designs:
#   as_run:      ids = ~village + household_type + hh_row (the lists pooled over the rounds:
#                evalkit's stacked design before the round was crossed into the lists);
#   round_lists: ids = ~village + list + hh_row, list = round x household_type (each round's
#                draw of households from a list is its own stage-3 SRS: the run's design).
# Data: evalkit's packaged county (survey.csv, recheck_survey.csv, frame.csv); only design
# and answer columns are read (no identifying column leaves this script; hh_row is the row).
# Run from this folder: Rscript make_recheck_asdrawn_reference.R
#   (writes recheck_asdrawn_reference.json)
suppressMessages({library(survey); library(jsonlite)})
pkg <- "../../../src/evalkit/resources/data"
keep <- c("village", "household_type", "household_size", "people_wrongly_exited",
          "recognition", "village_prob", "incl_prob", "weight")
read_round <- function(file, round) {
  d <- read.csv(file.path(pkg, file), stringsAsFactors = FALSE)[, keep]
  d$recognizes <- as.integer(d$recognition %in% c("satisfied", "basically_satisfied"))
  d$recognition <- NULL
  d$round <- round
  d
}
stack <- rbind(read_round("survey.csv", "before"), read_round("recheck_survey.csv", "after"))
# evalkit.assessment.inputs.design_columns: household_prob = incl_prob / village_prob, a
# quotient within 1e-6 of 1 is 1 (the whole list taken)
stack$household_prob <- stack$incl_prob / stack$village_prob
stack$household_prob[abs(stack$household_prob - 1) < 1e-6] <- 1
stack$one <- 1
stack$hh_row <- sprintf("%05d", seq_len(nrow(stack)))
stack$list <- paste(stack$round, stack$household_type, sep = "/")
# Rows sorted by the cluster ids of every stage: R's onestrat pairs each unit's fpc factor,
# taken in order of first appearance, with rowsum()'s unit totals, taken in sorted order, so
# R gives Brewer's variance (and per-unit fpc at stage 3) only when the two orders agree
# (as make_pps_reference.R; evalkit pairs them by unit code in any order). hh_row is zero-
# padded so that its sorted order is the row order.
invisible(Sys.setlocale("LC_COLLATE", "C"))
stack <- stack[order(stack$village, stack$household_type, stack$hh_row), ]
# a village in both rounds has one inclusion probability (one PSU)
stopifnot(all(tapply(stack$village_prob, stack$village, function(p) diff(range(p))) == 0))

frame <- read.csv(file.path(pkg, "frame.csv"))
types <- c("exited", "not_exited", "nonregistered")
hh <- sapply(types, function(t) sum(frame[[paste0("hh_", t)]]))
people <- sapply(types, function(t) sum(frame[[paste0("people_", t)]]))
# no followup.frame: both rounds are calibrated to the same (the main) frame's totals
cols <- c()
population <- c()
for (r in c("before", "after")) for (t in types) {
  inr <- as.numeric(stack$round == r & stack$household_type == t)
  hname <- paste0("hh_", t, "_", r); pname <- paste0("people_", t, "_", r)
  stack[[hname]] <- inr; stack[[pname]] <- inr * stack$household_size
  cols <- c(cols, hname, pname)
  population <- c(population, hh[[t]], people[[t]])
}
names(population) <- cols
for (r in c("before", "after")) {
  inr <- as.numeric(stack$round == r)
  exr <- inr * (stack$household_type == "exited")
  stack[[paste0("n_", r)]] <- inr
  stack[[paste0("rec_", r)]] <- inr * stack$recognizes
  stack[[paste0("wrong_", r)]] <- exr * stack$people_wrongly_exited
  stack[[paste0("size_", r)]] <- exr * stack$household_size
}
stack$round <- factor(stack$round, levels = c("before", "after"))

drawn <- function(ids) {
  svydesign(ids = ids, fpc = ~village_prob + one + household_prob, weights = ~weight,
            pps = "brewer", data = stack)
}
calibrated <- function(d) {
  calibrate(d, as.formula(paste("~0 +", paste(cols, collapse = " + "))),
            population = population, calfun = "linear")
}
change <- function(d) {
  one <- function(totals, before, after, by) {
    rounds <- svycontrast(totals, list(before = before, after = after))
    ct <- svycontrast(totals, list(change = call("-", after, before)))
    list(estimates = unname(coef(rounds)), ses = unname(SE(rounds)),
         covariance = unname(as.matrix(vcov(rounds))),
         change = unname(coef(ct))[1], se = unname(SE(ct))[1], df = degf(d),
         svyby_ses = unname(SE(by)))
  }
  ex <- subset(d, household_type == "exited")
  list(
    recognition = one(svytotal(~rec_before + n_before + rec_after + n_after, d),
                      quote(rec_before / n_before), quote(rec_after / n_after),
                      svyby(~recognizes, ~round, d, svymean)),
    wrong_exit = one(svytotal(~wrong_before + size_before + wrong_after + size_after, d),
                     quote(wrong_before / size_before), quote(wrong_after / size_after),
                     svyby(~people_wrongly_exited, ~round, ex, svyratio,
                           denominator = ~household_size)),
    weight_sums = unname(tapply(weights(d), stack$round, sum))
  )
}
as_run <- drawn(~village + household_type + hh_row)
round_lists <- drawn(~village + list + hh_row)
res <- list(
  as_run = list(uncalibrated = change(as_run), linear = change(calibrated(as_run))),
  round_lists = list(uncalibrated = change(round_lists),
                     linear = change(calibrated(round_lists))),
  rows = as.list(table(stack$round)), villages = length(unique(stack$village)),
  frame_households = unname(hh), frame_people = unname(people),
  r_version = R.version.string,
  survey_version = as.character(packageVersion("survey"))
)
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "recheck_asdrawn_reference.json")
