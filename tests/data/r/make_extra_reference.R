# Extra reference values for evalkit's SurveyDesign, computed with R's survey package.
# Run from this folder: Rscript make_extra_reference.R  (writes extra_reference.json)
# Inputs: ../apiclus1.csv, ../apistrat.csv (copied from the design brief) and
# twostage.csv (a stratified two-stage sample with fpc at both stages, made by this script).
suppressMessages({library(survey); library(jsonlite)})
set.seed(20190815)
# Stratified two-stage sample: 3 strata, villages (PSUs) then households, fpc at both stages.
strata <- rep(c("A", "B", "C"), times = c(5, 4, 6))
N1 <- c(A = 40, B = 25, C = 60)
rows <- list()
for (i in seq_along(strata)) {
  h <- strata[i]
  m <- sample(4:9, 1)
  M <- m + sample(10:60, 1)
  size <- sample(1:7, m, replace = TRUE)
  p <- plogis(-3 + 0.3 * i %% 3 + rnorm(1, 0, 0.5))
  wrong <- rbinom(m, size, p)
  rec <- rbinom(m, 1, 0.85 + 0.02 * (h == "B"))
  rows[[i]] <- data.frame(stratum = h, village = paste0(h, i), household = seq_len(m),
                          fpc1 = N1[[h]], fpc2 = M, size = size, wrong = wrong, rec = rec,
                          income = round(rlnorm(m, 8, 0.6)))
}
two <- do.call(rbind, rows)
two$zero <- 0
write.csv(two, "twostage.csv", row.names = FALSE)

props <- function(design, var) {
  out <- list()
  for (m in c("logit", "likelihood", "asin", "beta", "mean", "xlogit")) {
    r <- svyciprop(as.formula(paste0("~", var)), design, method = m)
    out[[m]] <- list(estimate = as.numeric(r), ci = unname(as.numeric(attr(r, "ci"))))
  }
  out
}
stat <- function(s) list(estimate = unname(coef(s))[1], se = unname(SE(s))[1])

res <- list()
# 1. stratified two-stage with fpc at both stages
d2 <- svydesign(id = ~village + household, strata = ~stratum, fpc = ~fpc1 + fpc2,
                data = two)
res$twostage_fpc <- list(
  degf = degf(d2),
  mean_income = stat(svymean(~income, d2)),
  total_wrong = stat(svytotal(~wrong, d2)),
  ratio_wrong_size = list(estimate = unname(coef(svyratio(~wrong, ~size, d2))),
                          se = unname(SE(svyratio(~wrong, ~size, d2)))),
  prop_rec = props(d2, "rec"),
  weights_sum = sum(weights(d2))
)
# same sample, first stage only with replacement (no fpc), weights from the fpc design
two$w <- weights(d2)
d2wr <- svydesign(id = ~village, strata = ~stratum, weights = ~w, data = two)
res$twostage_wr <- list(
  degf = degf(d2wr),
  mean_income = stat(svymean(~income, d2wr)),
  ratio_wrong_size = list(estimate = unname(coef(svyratio(~wrong, ~size, d2wr))),
                          se = unname(SE(svyratio(~wrong, ~size, d2wr)))),
  prop_rec = props(d2wr, "rec")
)
# 2. domains: svyby on the cluster design with fpc, domain variance on the full design
api <- read.csv("../apiclus1.csv"); api$hi <- as.numeric(api$api00 > 700)
dc <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = api)
byMean <- svyby(~api00, ~stype, dc, svymean)
byRatio <- svyby(~api00, ~stype, dc, svyratio, denominator = ~api99)
byProp <- svyby(~hi, ~stype, dc, svyciprop, method = "logit", vartype = c("se", "ci"))
res$clus1_by_stype <- list(
  levels = as.character(byMean$stype),
  mean = unname(coef(byMean)), mean_se = unname(SE(byMean)),
  ratio = unname(coef(byRatio)), ratio_se = unname(SE(byRatio)),
  prop = unname(coef(byProp)), prop_se = unname(SE(byProp)),
  prop_ci_low = unname(byProp$ci_l), prop_ci_high = unname(byProp$ci_u),
  total_enroll = stat(svytotal(~enroll, dc))
)
for (m in c("beta", "likelihood", "asin")) {
  b <- svyby(~hi, ~stype, dc, svyciprop, method = m, vartype = "ci")
  res$clus1_by_stype[[paste0("prop_", m, "_low")]] <- unname(b$ci_l)
  res$clus1_by_stype[[paste0("prop_", m, "_high")]] <- unname(b$ci_u)
}
# 3. lonely PSUs: apistrat with the "H" stratum reduced to a single school
st <- read.csv("../apistrat.csv"); st$hi <- as.numeric(st$api00 > 700)
keep <- st$stype != "H" | seq_len(nrow(st)) == which(st$stype == "H")[1]
lone <- st[keep, ]
write.csv(lone, "apistrat_lonely.csv", row.names = FALSE)
res$lonely <- list()
for (opt in c("adjust", "certainty", "remove", "average")) {
  options(survey.lonely.psu = opt)
  dl <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = lone)
  res$lonely[[opt]] <- list(mean_api00 = stat(svymean(~api00, dl)),
                            total_enroll = stat(svytotal(~enroll, dl)))
}
options(survey.lonely.psu = "fail")
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, pretty = TRUE), "extra_reference.json")
