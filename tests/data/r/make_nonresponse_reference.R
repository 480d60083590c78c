# Reference values for evalkit's non-response adjustment, the design effects of calibrated
# designs and raking on an interaction margin, computed with R's survey package 4.1-1.
# Run from this folder:
#   Rscript make_nonresponse_reference.R   (writes nonresponse_sample.csv and
#                                            nonresponse_reference.json)
# 1. Non-response: a clustered sample (villages as PSUs) with a responded flag, written to
#    nonresponse_sample.csv. The weighting-class adjustment is, per cell c,
#    w_i * sum_{c} w / sum_{c, responded} w for respondents (Kalton and Flores-Cervantes
#    2003); the adjusted respondents then enter svydesign(ids = ~village, weights = ~wadj).
#    Two cell definitions: household type x village, and household type alone.
# 2. deff=TRUE of svymean / svytotal on the calibrated designs of
#    make_calibration_reference.R (counts and totals read from calibration_reference.json).
# 3. rake() with an interaction margin: list(~stratum + big, ~rec) on twostage.csv.
suppressMessages({library(survey); library(jsonlite)})
set.seed(20261130)

# --- 1. non-response ------------------------------------------------------------------
villages <- sprintf("V%02d", 1:8)
n_per <- 30
d <- data.frame(village = rep(villages, each = n_per))
d$household_type <- sample(c("exited", "not_exited", "nonregistered"), nrow(d),
                           replace = TRUE, prob = c(0.5, 0.15, 0.35))
d$household_id <- sprintf("%s-%03d", d$village, seq_len(nrow(d)))
vw <- setNames(round(runif(length(villages), 20, 80), 3), villages)
tw <- c(exited = 1, not_exited = 0.6, nonregistered = 1.4)
d$weight <- unname(vw[d$village] * tw[d$household_type])
d$y <- round(rnorm(nrow(d), 10 + (d$household_type == "exited") * 2, 3), 4)
d$rec <- rbinom(nrow(d), 1, 0.8)
d$responded <- rbinom(nrow(d), 1, ifelse(d$household_type == "not_exited", 0.7, 0.88))
write.csv(d, "nonresponse_sample.csv", row.names = FALSE)

adjusted <- function(d, cells) {
  key <- interaction(d[cells], drop = TRUE)
  sampled <- ave(d$weight, key, FUN = sum)
  answered <- ave(d$weight * d$responded, key, FUN = sum)
  d$wadj <- ifelse(d$responded == 1, d$weight * sampled / answered, 0)
  resp <- d[d$responded == 1, ]
  des <- svydesign(ids = ~village, weights = ~wadj, data = resp)
  m <- svymean(~y, des, deff = TRUE)
  t <- svytotal(~y, des)
  p <- svymean(~rec, des)
  list(household_id = resp$household_id, weights = resp$wadj,
       mean = list(estimate = unname(coef(m)), se = unname(SE(m)),
                   deff = unname(deff(m))),
       total = list(estimate = unname(coef(t)), se = unname(SE(t))),
       prop = list(estimate = unname(coef(p)), se = unname(SE(p))))
}
nonresponse <- list(
  type_village = adjusted(d, c("household_type", "village")),
  type = adjusted(d, "household_type")
)

# --- 2. deff of calibrated designs ------------------------------------------------------
ref <- fromJSON("calibration_reference.json", simplifyVector = FALSE)
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
designs <- list(
  strat = svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = strat),
  clus1 = svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = clus1),
  twostage = svydesign(id = ~village + household, strata = ~stratum, fpc = ~fpc1 + fpc2,
                       data = two)
)
vars <- list(strat = c(y = "api00", total = "enroll", prop = "hi"),
             clus1 = c(y = "api00", total = "enroll", prop = "hi"),
             twostage = c(y = "income", total = "wrong", prop = "rec"))
pop_frame <- function(column, counts) {
  out <- data.frame(names(counts), as.numeric(unlist(counts)))
  names(out) <- c(column, "Freq")
  out
}
totals_vector <- function(t) setNames(as.numeric(unlist(t)),
                                      sub("^Intercept$", "(Intercept)", names(t)))
f <- function(v) as.formula(paste0("~", v))
deffs <- list()
for (name in names(designs)) {
  d0 <- designs[[name]]
  r <- ref[[name]]
  v <- vars[[name]]
  cal <- list(
    uncalibrated = d0,
    poststratify = postStratify(d0, f(r$poststratify_column),
                                pop_frame(r$poststratify_column,
                                          r$counts[[r$poststratify_column]])),
    rake = rake(d0, lapply(unlist(r$rake_columns), f),
                lapply(unlist(r$rake_columns), function(c) pop_frame(c, r$counts[[c]]))),
    calibrate_linear = calibrate(d0, as.formula(paste("~", r$linear_formula)),
                                 totals_vector(r$linear_totals)),
    calibrate_raking = calibrate(d0, as.formula(paste("~", r$raking_formula)),
                                 totals_vector(r$raking_totals), calfun = "raking")
  )
  deffs[[name]] <- lapply(cal, function(des) list(
    mean = unname(deff(svymean(f(v[["y"]]), des, deff = TRUE))),
    total = unname(deff(svytotal(f(v[["total"]]), des, deff = TRUE))),
    prop = unname(deff(svymean(f(v[["prop"]]), des, deff = TRUE)))
  ))
}

# --- 3. raking on an interaction margin -------------------------------------------------
d2 <- designs$twostage
w2 <- weights(d2)
joint <- aggregate(w2, list(stratum = two$stratum, big = two$big), sum)
joint$Freq <- round(joint$x * 1.05)
joint$x <- NULL
N2 <- sum(joint$Freq)
rec_counts <- data.frame(rec = c(0, 1), Freq = c(round(N2 * 0.25), N2 - round(N2 * 0.25)))
rk <- rake(d2, list(~stratum + big, ~rec), list(joint, rec_counts))
m <- svymean(~income, rk)
t <- svytotal(~wrong, rk)
rake_interaction <- list(
  joint = list(stratum = joint$stratum, big = joint$big, count = joint$Freq),
  rec = list(level = rec_counts$rec, count = rec_counts$Freq),
  weights = unname(weights(rk)),
  mean = list(estimate = unname(coef(m)), se = unname(SE(m))),
  total = list(estimate = unname(coef(t)), se = unname(SE(t)))
)

writeLines(toJSON(list(nonresponse = nonresponse, deff = deffs,
                       rake_interaction = rake_interaction,
                       r_version = R.version.string,
                       survey_version = as.character(packageVersion("survey"))),
                  auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "nonresponse_reference.json")
