# Reference values for tests/test_models.py, computed with R survey 4.1-1.
#
# Run from the project root:  Rscript tests/data/r_models_reference.R
# Writes tests/data/two_stage_sample.csv (a small simulated stratified two-stage sample with
# finite population corrections at both stages) and tests/data/r_models_reference.json.
# The tests never run R: they read these two files.
suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})

out_dir <- "tests/data"

# --- a stratified two-stage sample with fpc at both stages -------------------------------
set.seed(20240601)
strata_N <- c(s1 = 25, s2 = 30, s3 = 40)   # villages in the stratum
strata_n <- c(s1 = 5, s2 = 6, s3 = 7)      # villages sampled
rows <- list()
for (h in names(strata_N)) {
  for (v in seq_len(strata_n[[h]])) {
    M <- sample(60:120, 1)                 # households in the village
    m <- 12                                # households sampled
    region <- sample(c("north", "centre", "south"), 1, prob = c(0.4, 0.35, 0.25))
    u <- rnorm(1, sd = 0.4)                # village effect: clustering
    nonpoor <- rbinom(m, 1, 0.5)
    water_at_door <- ifelse(nonpoor == 1, rbinom(m, 1, 0.7), rbinom(m, 1, 0.1))
    stay <- rbinom(m, 1, 0.35)
    share <- ifelse(nonpoor == 1, runif(m, 0.5, 0.95), runif(m, 0.82, 1))
    reimbursement_gap <- ifelse(stay == 1, pmax(0, 0.9 - share), 0)
    dibao <- rbinom(m, 1, ifelse(nonpoor == 1, 0.05, 0.4))
    log_income <- rnorm(m, 9 + 0.3 * nonpoor, 0.5)
    eta <- 2.4 - 0.5 * nonpoor - 0.3 * water_at_door - 1.1 * nonpoor * water_at_door -
      4 * nonpoor * reimbursement_gap + 0.4 * dibao + 0.2 * (log_income - 9) +
      ifelse(region == "south", -0.4, ifelse(region == "centre", 0.2, 0)) + u
    latent <- eta + rlogis(m)
    recognition <- ifelse(latent > 1.6, "satisfied",
                          ifelse(latent > 0, "basically_satisfied", "dissatisfied"))
    rows[[length(rows) + 1]] <- data.frame(
      stratum = h, village = paste0(h, "_v", v), household_id = paste0(h, "_v", v, "_h", 1:m),
      villages_in_stratum = strata_N[[h]], households_in_village = M,
      weight = (strata_N[[h]] / strata_n[[h]]) * (M / m),
      region = region, nonpoor = nonpoor, water_at_door = water_at_door,
      reimbursement_gap = round(reimbursement_gap, 6), dibao = dibao,
      log_income = round(log_income, 6), recognition = recognition,
      recognizes = as.integer(recognition != "dissatisfied")
    )
  }
}
two_stage <- do.call(rbind, rows)
write.csv(two_stage, file.path(out_dir, "two_stage_sample.csv"), row.names = FALSE)
two_stage <- read.csv(file.path(out_dir, "two_stage_sample.csv"))

glm_ref <- function(fit, design_df) {
  ci95 <- confint(fit, level = 0.95)
  ci90 <- confint(fit, level = 0.90)
  list(
    terms = names(coef(fit)),
    coef = unname(coef(fit)),
    se = unname(sqrt(diag(vcov(fit)))),
    vcov = unname(vcov(fit)),
    naive_cov = unname(fit$naive.cov),
    df_residual = fit$df.residual,
    degf = design_df,
    ci95 = unname(ci95),
    ci90 = unname(ci90),
    iterations = fit$iter
  )
}

api_strat <- read.csv(file.path(out_dir, "apistrat.csv"))
api_clus1 <- read.csv(file.path(out_dir, "apiclus1.csv"))
for (d in c("api_strat", "api_clus1")) {
  frame <- get(d)
  frame$hi <- as.integer(frame$api00 > 700)
  assign(d, frame)
}
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = api_strat)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = api_clus1)
dclus1_nofpc <- svydesign(id = ~dnum, weights = ~pw, data = api_clus1)
dtwo <- svydesign(id = ~village + household_id, strata = ~stratum,
                  fpc = ~villages_in_stratum + households_in_village, data = two_stage)

reference <- list(
  note = paste(
    "R survey", as.character(packageVersion("survey")),
    "svyglm(family = quasibinomial()); confint() is the Wald interval with t quantiles on",
    "df.residual = degf + 1 - p. svyolr refitted with optim reltol 1e-15 so the optimum is",
    "exact; its Hessian is still optim's finite difference (about 1e-6 relative)."
  ),
  strat_main = glm_ref(svyglm(hi ~ ell + meals + mobility, dstrat, family = quasibinomial()),
                       degf(dstrat)),
  clus1_fpc_main = glm_ref(svyglm(hi ~ ell + meals + mobility, dclus1,
                                  family = quasibinomial()), degf(dclus1)),
  clus1_nofpc_main = glm_ref(svyglm(hi ~ ell + meals + mobility, dclus1_nofpc,
                                    family = quasibinomial()), degf(dclus1_nofpc)),
  strat_factor_interaction = glm_ref(
    svyglm(hi ~ stype * ell + meals, dstrat, family = quasibinomial()), degf(dstrat)),
  clus1_factor_interaction = glm_ref(
    svyglm(hi ~ stype + ell * meals, dclus1, family = quasibinomial()), degf(dclus1)),
  two_stage_full = glm_ref(
    svyglm(recognizes ~ nonpoor * water_at_door + nonpoor:reimbursement_gap + dibao +
             log_income + region, dtwo, family = quasibinomial()), degf(dtwo)),
  two_stage_missing = {
    # na.omit: rows 5, 50, 100 and the whole village s2_v3 lack log_income; R drops them
    # from the design (degf falls by one PSU) but keeps the stratum's PSU count for the
    # variance, i.e. a domain.
    miss <- two_stage
    miss$log_income[c(5, 50, 100)] <- NA
    miss$log_income[miss$village == "s2_v3"] <- NA
    dmiss <- svydesign(id = ~village + household_id, strata = ~stratum,
                       fpc = ~villages_in_stratum + households_in_village, data = miss)
    fit <- svyglm(recognizes ~ nonpoor * water_at_door + dibao + log_income, dmiss,
                  family = quasibinomial())
    glm_ref(fit, degf(dmiss[-fit$na.action, ]))
  },
  two_stage_domain = {
    dsub <- subset(dtwo, stratum != "s1")
    glm_ref(svyglm(recognizes ~ nonpoor * water_at_door + dibao, dsub,
                   family = quasibinomial()), degf(dsub))
  }
)

two_stage$recognition3 <- factor(two_stage$recognition,
                                 levels = c("dissatisfied", "basically_satisfied", "satisfied"))
dtwo_ord <- svydesign(id = ~village + household_id, strata = ~stratum,
                      fpc = ~villages_in_stratum + households_in_village, data = two_stage)
olr <- svyolr(recognition3 ~ nonpoor * water_at_door + dibao, dtwo_ord,
              control = list(reltol = 1e-15, maxit = 1000))
reference$two_stage_ordinal <- list(
  terms = c(names(coef(olr)), names(olr$zeta))[seq_along(c(olr$coefficients, olr$zeta))],
  beta = unname(olr$coefficients),
  zeta = unname(olr$zeta),
  vcov = unname(vcov(olr)),
  se = unname(sqrt(diag(vcov(olr)))),
  df_residual = olr$df.residual
)

writeLines(toJSON(reference, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           file.path(out_dir, "r_models_reference.json"))
cat("wrote", file.path(out_dir, "r_models_reference.json"), "\n")
