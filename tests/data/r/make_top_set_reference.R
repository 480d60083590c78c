# Reference values for evalkit.survey.ranking.top_set: the authors' own confidence sets for
# the tau best and tau worst, csranks::cstaubest / cstauworst (Mogstad, Romano, Shaikh and
# Wilhelm 2024, Review of Economic Studies; csranks 1.2.2.9001 from
# github.com/danielwilhelm/R-CS-ranks, commit bd4f755, installed with R CMD INSTALL).
# Run from this folder: Rscript make_top_set_reference.R
# (writes top_set_pisa2018.csv and top_set_reference.json)
#
# Cases: the package's PISA 2018 data (the countries with scores; math, reading and science with
# their standard errors, independent: diagonal covariance) at tau = 3 and 5, best and worst,
# level 0.95 and 0.90; and 20 made-up county rates (a province of rates near 5% with
# standard errors of 0.2 to 1.2 points) at tau = 5. csranks draws its bootstrap critical value
# by simulation (R = 1000 draws by default), so each case is run with 20 seeds and the json
# holds, per country, the share of seeds whose set contains it: 0 or 1 where the simulation
# does not matter, in between for the borderline members.
suppressMessages({library(csranks); library(jsonlite)})

data(pisa2018)
pisa2018 <- na.omit(pisa2018)  # a country without scores is not ranked
write.csv(pisa2018, "top_set_pisa2018.csv", row.names = FALSE)

county_rate <- c(0.051, 0.032, 0.078, 0.045, 0.061, 0.029, 0.083, 0.040, 0.055, 0.067,
                 0.036, 0.049, 0.092, 0.058, 0.044, 0.071, 0.038, 0.063, 0.026, 0.053)
county_se <- c(0.004, 0.003, 0.008, 0.005, 0.012, 0.002, 0.006, 0.004, 0.005, 0.008,
               0.003, 0.004, 0.010, 0.005, 0.003, 0.007, 0.004, 0.006, 0.002, 0.005)

seeds <- 1:20
share <- function(x, se, tau, worst, coverage) {
  hits <- sapply(seeds, function(s) {
    f <- if (worst) cstauworst else cstaubest
    f(x, diag(se^2), tau = tau, coverage = coverage, R = 1000, seed = s)
  })
  rowMeans(hits)
}

cases <- list()
for (subject in c("math", "reading", "science")) {
  x <- pisa2018[[paste0(subject, "_score")]]
  se <- pisa2018[[paste0(subject, "_se")]]
  for (tau in c(3, 5)) for (worst in c(FALSE, TRUE)) for (coverage in c(0.95, 0.90)) {
    cases[[length(cases) + 1]] <- list(
      data = "pisa2018", subject = subject, tau = tau, worst = worst, level = coverage,
      estimates = x, se = se, share = share(x, se, tau, worst, coverage))
  }
}
for (worst in c(FALSE, TRUE)) {
  cases[[length(cases) + 1]] <- list(
    data = "counties", subject = "rate", tau = 5, worst = worst, level = 0.95,
    estimates = county_rate, se = county_se,
    share = share(county_rate, county_se, 5, worst, 0.95))
}
write_json(list(csranks = as.character(packageVersion("csranks")),
                R = R.version.string, draws = 1000, seeds = length(seeds), cases = cases),
           "top_set_reference.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
