# Reference values for the re-check round's weighting (evalkit.assessment.followup): the
# assessment and the re-check, each post-stratified (or linearly calibrated) to the frame's
# county totals, stacked in one design with the round crossed into the calibration cells;
# the change between the rounds by svyby(covmat = TRUE) + svycontrast.
# Data: evalkit's packaged county (survey.csv, recheck_survey.csv, frame.csv); only design
# and answer columns are read (no identifying column leaves this script).
# Run from this folder: Rscript make_recheck_calibration_reference.R
#   (writes recheck_calibration_reference.json)
suppressMessages({library(survey); library(jsonlite)})
pkg <- "../../../src/evalkit/resources/data"
keep <- c("village", "household_type", "household_size", "people_wrongly_exited",
          "recognition", "weight")
read_round <- function(file, round) {
  d <- read.csv(file.path(pkg, file), stringsAsFactors = FALSE)[, keep]
  d$recognizes <- as.integer(d$recognition %in% c("satisfied", "basically_satisfied"))
  d$recognition <- NULL
  d$round <- round
  d
}
stack <- rbind(read_round("survey.csv", "before"), read_round("recheck_survey.csv", "after"))
stack$round <- factor(stack$round, levels = c("before", "after"))
frame <- read.csv(file.path(pkg, "frame.csv"))
types <- c("exited", "not_exited", "nonregistered")
hh <- sapply(types, function(t) sum(frame[[paste0("hh_", t)]]))
people <- sapply(types, function(t) sum(frame[[paste0("people_", t)]]))
# no followup.frame: both rounds are calibrated to the same (the main) frame's totals
pop <- expand.grid(household_type = types, round = c("before", "after"),
                   stringsAsFactors = FALSE)
pop$Freq <- unname(hh[pop$household_type])
pop <- pop[, c("round", "household_type", "Freq")]

design <- svydesign(id = ~village, weights = ~weight, data = stack)
post <- postStratify(design, ~round + household_type, pop)
# linear calibration to household and people totals, each model column times the round
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
design_x <- svydesign(id = ~village, weights = ~weight, data = stack)
linear <- calibrate(design_x, as.formula(paste("~0 +", paste(cols, collapse = " + "))),
                    population = population, calfun = "linear")

# The change as a smooth function of design totals (svytotal then svycontrast with an
# expression, i.e. the delta method): survey 4.1-1's svyby(covmat = TRUE) stops on a
# calibrated design ("number of items to replace is not a multiple of replacement length"),
# while svytotal's covariance on a calibrated design uses the calibration residuals.
# svyby (without covmat) gives each round's SE as a cross-check.
for (r in c("before", "after")) {
  inr <- as.numeric(stack$round == r)
  exr <- inr * (stack$household_type == "exited")
  stack[[paste0("n_", r)]] <- inr
  stack[[paste0("rec_", r)]] <- inr * stack$recognizes
  stack[[paste0("wrong_", r)]] <- exr * stack$people_wrongly_exited
  stack[[paste0("size_", r)]] <- exr * stack$household_size
}
rebuild <- function(d) {  # the same design with the round-split columns added
  d$variables <- cbind(d$variables, stack[, grep("^(n|rec|wrong|size)_", names(stack))])
  d
}
change <- function(d) {
  d <- rebuild(d)
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
# each round alone, post-stratified on household type (notebook 02's design for "before")
alone <- function(r) {
  rows <- stack[stack$round == r, ]
  d <- postStratify(svydesign(id = ~village, weights = ~weight, data = rows),
                    ~household_type, data.frame(household_type = types, Freq = unname(hh)))
  ex <- subset(d, household_type == "exited")
  rec <- svymean(~recognizes, d)
  wrong <- svyratio(~people_wrongly_exited, ~household_size, ex)
  list(recognition = c(unname(coef(rec)), unname(SE(rec))),
       wrong_exit = c(unname(coef(wrong)), unname(SE(wrong))))
}
res <- list(
  uncalibrated = change(design),
  poststratify = change(post),
  linear = change(linear),
  before_alone = alone("before"),
  after_alone = alone("after"),
  frame_households = unname(hh), frame_people = unname(people),
  r_version = R.version.string,
  survey_version = as.character(packageVersion("survey"))
)
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "recheck_calibration_reference.json")
