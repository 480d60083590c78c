# Reference values for evalkit's calibration (SurveyDesign.poststratify / rake / calibrate),
# computed with R's survey package 4.1-1. Run from this folder:
#   Rscript make_calibration_reference.R   (writes calibration_reference.json)
# Inputs: ../apistrat.csv, ../apiclus1.csv (the design brief's copies of survey's api data),
# twostage.csv (stratified two-stage sample with fpc at both stages, from
# make_extra_reference.R). Population totals for the api designs come from survey's apipop;
# those for the two-stage sample are made up here and written into the JSON.
# Derived columns (the Python tests rebuild them the same way):
#   api: hi = api00 > 700; mealcat = "high" if meals > 50 else "low"
#   twostage: big = "big" if size >= 4 else "small"; rec is 0/1 already
suppressMessages({library(survey); library(jsonlite)})
data(api)

api_prep <- function(d) {
  d$hi <- as.numeric(d$api00 > 700)
  d$mealcat <- ifelse(d$meals > 50, "high", "low")
  d
}
strat <- api_prep(read.csv("../apistrat.csv", colClasses = c(cds = "character")))
clus1 <- api_prep(read.csv("../apiclus1.csv", colClasses = c(cds = "character")))
two <- read.csv("twostage.csv")
two$big <- ifelse(two$size >= 4, "big", "small")
apipop$mealcat <- ifelse(apipop$meals > 50, "high", "low")

designs <- list(
  strat = svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = strat),
  clus1 = svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = clus1),
  twostage = svydesign(id = ~village + household, strata = ~stratum, fpc = ~fpc1 + fpc2,
                       data = two)
)

# Population counts and totals.
api_counts <- list(
  stype = as.list(table(apipop$stype)),
  mealcat = as.list(table(apipop$mealcat))
)
api_totals_linear <- c(`(Intercept)` = nrow(apipop), stypeH = sum(apipop$stype == "H"),
                       stypeM = sum(apipop$stype == "M"), api99 = sum(apipop$api99))
api_totals_raking <- c(`(Intercept)` = nrow(apipop), stypeH = sum(apipop$stype == "H"),
                       stypeM = sum(apipop$stype == "M"),
                       mealcatlow = sum(apipop$mealcat == "low"))
d2 <- designs$twostage
w2 <- weights(d2)
N2 <- round(sum(w2) * 1.04)
stratum_counts <- round(tapply(w2, two$stratum, sum) * 1.04)
stratum_counts[["C"]] <- N2 - sum(stratum_counts[c("A", "B")])
big_counts <- c(big = round(N2 * 0.45), small = N2 - round(N2 * 0.45))
two_counts <- list(stratum = as.list(stratum_counts), big = as.list(big_counts))
two_totals_linear <- c(`(Intercept)` = N2, bigsmall = big_counts[["small"]],
                       income = round(sum(w2 * two$income) * 0.97))
two_totals_raking <- c(`(Intercept)` = N2, stratumB = stratum_counts[["B"]],
                       stratumC = stratum_counts[["C"]], bigsmall = big_counts[["small"]])

spec <- list(
  strat = list(ps = "mealcat", rake = c("stype", "mealcat"), counts = api_counts,
               linear = ~stype + api99, linear_totals = api_totals_linear,
               raking = ~stype + mealcat, raking_totals = api_totals_raking,
               y = "api00", total = "enroll", num = "api00", den = "api99", prop = "hi",
               glm = hi ~ ell + meals, by = "stype"),
  clus1 = list(ps = "stype", rake = c("stype", "mealcat"), counts = api_counts,
               linear = ~stype + api99, linear_totals = api_totals_linear,
               raking = ~stype + mealcat, raking_totals = api_totals_raking,
               y = "api00", total = "enroll", num = "api00", den = "api99", prop = "hi",
               glm = hi ~ ell + meals, by = "stype"),
  twostage = list(ps = "big", rake = c("stratum", "big"), counts = two_counts,
                  linear = ~big + income, linear_totals = two_totals_linear,
                  raking = ~stratum + big, raking_totals = two_totals_raking,
                  y = "income", total = "wrong", num = "wrong", den = "size", prop = "rec",
                  glm = rec ~ income + size, by = "stratum")
)

pop_frame <- function(column, counts) {
  out <- data.frame(names(counts), as.numeric(unlist(counts)))
  names(out) <- c(column, "Freq")
  out
}
stat <- function(s) list(estimate = unname(coef(s))[1], se = unname(SE(s))[1])
props <- function(design, var) {
  out <- list()
  for (m in c("logit", "likelihood", "asin", "beta", "mean", "xlogit")) {
    r <- svyciprop(as.formula(paste0("~", var)), design, method = m)
    out[[m]] <- list(estimate = as.numeric(r), ci = unname(as.numeric(attr(r, "ci"))))
  }
  out
}
summarise <- function(design, s) {
  f <- function(v) as.formula(paste0("~", v))
  r <- svyratio(f(s$num), f(s$den), design)
  g <- svyglm(s$glm, design, family = quasibinomial())
  by <- svyby(f(s$y), f(s$by), design, svymean)
  sub_level <- sort(unique(design$variables[[s$by]]))[1]
  sub <- design[design$variables[[s$by]] == sub_level & design$variables[[s$prop]] %in% c(0, 1)]
  list(
    degf = degf(design),
    weights = unname(weights(design)),
    mean = stat(svymean(f(s$y), design)),
    total = stat(svytotal(f(s$total), design)),
    ratio = list(estimate = unname(coef(r)), se = unname(SE(r))),
    prop = props(design, s$prop),
    glm = list(names = names(coef(g)), coef = unname(coef(g)),
               se = unname(SE(g))),
    by = list(levels = as.character(by[[s$by]]), estimate = unname(coef(by)),
              se = unname(SE(by))),
    subset_level = as.character(sub_level),
    subset_mean = stat(svymean(f(s$y), sub)),
    subset_prop_logit = {
      r <- svyciprop(f(s$prop), sub, method = "logit")
      list(estimate = as.numeric(r), ci = unname(as.numeric(attr(r, "ci"))))
    }
  )
}

res <- list()
for (name in names(designs)) {
  d <- designs[[name]]
  s <- spec[[name]]
  counts <- s$counts
  ps <- postStratify(d, as.formula(paste0("~", s$ps)), pop_frame(s$ps, counts[[s$ps]]))
  rk <- rake(d, lapply(s$rake, function(v) as.formula(paste0("~", v))),
             lapply(s$rake, function(v) pop_frame(v, counts[[v]])))
  lin <- calibrate(d, s$linear, s$linear_totals)
  rak <- calibrate(d, s$raking, s$raking_totals, calfun = "raking")
  res[[name]] <- list(
    counts = counts,
    poststratify_column = s$ps,
    rake_columns = s$rake,
    linear_formula = paste(all.vars(s$linear), collapse = " + "),
    linear_totals = as.list(setNames(s$linear_totals,
                                     sub("(Intercept)", "Intercept", names(s$linear_totals),
                                         fixed = TRUE))),
    raking_formula = paste(all.vars(s$raking), collapse = " + "),
    raking_totals = as.list(setNames(s$raking_totals,
                                     sub("(Intercept)", "Intercept", names(s$raking_totals),
                                         fixed = TRUE))),
    linear_check = stat(svytotal(as.formula(paste0("~", all.vars(s$linear)[2])), lin)),
    uncalibrated = summarise(d, s),
    poststratify = summarise(ps, s),
    rake = summarise(rk, s),
    calibrate_linear = summarise(lin, s),
    calibrate_raking = summarise(rak, s)
  )
}
res$r_version <- R.version.string
res$survey_version <- as.character(packageVersion("survey"))
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "calibration_reference.json")
