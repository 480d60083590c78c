# Reference values for evalkit.change (SurveyDesign.difference): the change between two
# survey rounds stacked in one design, computed with R's survey package.
# Run from this folder: Rscript make_change_reference.R  (writes change.csv, change_reference.json)
#
# change.csv holds three layouts of an assessment (round 1) and a re-check (round 2):
#   shared:      one-stage cluster samples; 8 of round 1's 12 villages are revisited, so a
#                village in both rounds is one PSU of the stacked design;
#   strata:      the same with townships as strata (a village keeps its township);
#   independent: round 2 visits 12 villages none of which round 1 visited.
# Households: size, people wrongly exited (exited households only), recognition (0/1),
# exited (0/1), weight. Round 2 is drawn with higher recognition and fewer wrong exits
# (the samples are small: the estimated changes need not show it).
suppressMessages({library(survey); library(jsonlite)})
set.seed(20261130)

make_round <- function(villages, round, p_rec, p_wrong) {
  rows <- list()
  for (v in villages) {
    m <- sample(6:12, 1)
    size <- sample(1:6, m, replace = TRUE)
    exited <- rbinom(m, 1, 0.5)
    eff <- rnorm(1, 0, 0.6)
    wrong <- exited * rbinom(m, 1, plogis(qlogis(p_wrong) + eff)) * size
    rec <- rbinom(m, 1, plogis(qlogis(p_rec) + eff))
    town <- paste0("T", (as.integer(sub("V", "", v)) - 1) %/% 6 + 1)
    w <- round(runif(1, 20, 60) * runif(m, 0.8, 1.25), 4)
    rows[[v]] <- data.frame(round = round, township = town, village = v,
                            household = paste0(v, "-", round, "-", seq_len(m)),
                            size = size, wrong = wrong, rec = rec, exited = exited, w = w)
  }
  do.call(rbind, rows)
}
vil <- sprintf("V%02d", 1:24)
r1 <- make_round(vil[1:12], 1, 0.80, 0.15)
shared <- rbind(r1, make_round(c(vil[1:8], vil[13:16]), 2, 0.90, 0.07))
shared$layout <- "shared"
strata <- shared
strata$layout <- "strata"
indep <- rbind(r1, make_round(vil[13:24], 2, 0.90, 0.07))
indep$layout <- "independent"
all <- rbind(shared, strata, indep)
write.csv(all, "change.csv", row.names = FALSE)

contrast <- function(by, df) {
  ct <- svycontrast(by, c(-1, 1))
  list(levels = as.character(by[[1]]), estimates = unname(coef(by)),
       covariance = unname(as.matrix(vcov(by))),
       estimate = unname(coef(ct))[1], se = unname(SE(ct))[1], df = df)
}
layout_reference <- function(data, stratified) {
  d <- if (stratified) {
    svydesign(id = ~village, strata = ~township, weights = ~w, data = data)
  } else {
    svydesign(id = ~village, weights = ~w, data = data)
  }
  ex <- subset(d, exited == 1)
  out <- list(
    degf = degf(d),
    mean_rec = contrast(svyby(~rec, ~round, d, svymean, covmat = TRUE), degf(d)),
    mean_size = contrast(svyby(~size, ~round, d, svymean, covmat = TRUE), degf(d)),
    ratio_wrong = contrast(svyby(~wrong, ~round, d, svyratio, denominator = ~size,
                                 covmat = TRUE), degf(d)),
    ratio_wrong_exited = contrast(svyby(~wrong, ~round, ex, svyratio, denominator = ~size,
                                        covmat = TRUE), degf(ex)),
    mean_rec_exited = contrast(svyby(~rec, ~round, ex, svymean, covmat = TRUE), degf(ex)),
    total_rec_exited = contrast(svyby(~rec, ~round, ex, svytotal, covmat = TRUE), degf(ex))
  )
  # Each round on its own design: with no shared village, V = V1 + V2.
  for (r in 1:2) {
    dr <- if (stratified) {
      svydesign(id = ~village, strata = ~township, weights = ~w, data = data[data$round == r, ])
    } else {
      svydesign(id = ~village, weights = ~w, data = data[data$round == r, ])
    }
    out[[paste0("round", r, "_mean_rec")]] <- list(estimate = unname(coef(svymean(~rec, dr))),
                                                  se = unname(SE(svymean(~rec, dr)))[1])
  }
  out
}
res <- list(
  shared = layout_reference(shared, FALSE),
  strata = layout_reference(strata, TRUE),
  independent = layout_reference(indep, FALSE),
  r_version = R.version.string,
  survey_version = as.character(packageVersion("survey"))
)
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = TRUE), "change_reference.json")
