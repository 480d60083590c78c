# Reference values on the packaged synthetic county (R survey 4.1-1).
#
# Run from the project root:  Rscript tests/data/r_models_synthetic.R
# Input: tests/data/synthetic_county_model.csv, the model columns of the packaged default
# survey (evalkit/data/survey.csv after evalkit.data.load_survey derived its columns;
# no identifying columns). Output: tests/data/r_models_synthetic.json.
suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
out_dir <- "tests/data"
county <- read.csv(file.path(out_dir, "synthetic_county_model.csv"))
county$recognition3 <- factor(county$recognition,
                              levels = c("dissatisfied", "basically_satisfied", "satisfied"))
design <- svydesign(id = ~village, weights = ~weight, data = county)
formula <- recognizes ~ nonpoor * water_at_door + nonpoor:reimbursement_gap + dibao + log_income
fit <- svyglm(formula, design, family = quasibinomial())
olr <- svyolr(recognition3 ~ nonpoor * water_at_door + nonpoor:reimbursement_gap + dibao +
                log_income, design, control = list(reltol = 1e-15, maxit = 2000))
reference <- list(
  note = paste("R survey", as.character(packageVersion("survey")),
               "on the packaged synthetic county; design: id = ~village, weights = ~weight"),
  default_formula = list(
    terms = names(coef(fit)), coef = unname(coef(fit)), se = unname(sqrt(diag(vcov(fit)))),
    vcov = unname(vcov(fit)), df_residual = fit$df.residual, degf = degf(design),
    ci95 = unname(confint(fit)), iterations = fit$iter
  ),
  ordinal = list(
    terms = c(names(olr$coefficients), names(olr$zeta)),
    coef = unname(c(olr$coefficients, olr$zeta)), se = unname(sqrt(diag(vcov(olr)))),
    df_residual = olr$df.residual
  )
)
writeLines(toJSON(reference, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           file.path(out_dir, "r_models_synthetic.json"))
cat("wrote", file.path(out_dir, "r_models_synthetic.json"), "\n")
