# R survey 4.1-1 on the packaged synthetic county (county_survey.csv, a copy of
# src/evalkit/data/survey.csv at the time this was made): the headline rates as the
# assessment computes them. Run: Rscript make_county_reference.R
suppressMessages({library(survey); library(jsonlite)})
s <- read.csv("county_survey.csv", stringsAsFactors = FALSE)
s$recognizes <- as.numeric(s$recognition %in% c("satisfied", "basically_satisfied"))
s$exited <- s$household_type == "exited"
d <- svydesign(id = ~village, weights = ~weight, data = s)
out <- list(degf = degf(d))
r <- svyratio(~people_wrongly_exited, ~household_size, subset(d, exited))
out$wrong_exit_ratio <- list(estimate = unname(coef(r)), se = unname(SE(r)))
# people-level: one row per person, the first k flagged
idx <- rep(seq_len(nrow(s)), s$household_size)
rank <- ave(idx, idx, FUN = seq_along)
p <- s[idx, ]
p$affected <- as.numeric(rank <= p$people_wrongly_exited)
dp <- svydesign(id = ~village, weights = ~weight, data = p)
dpe <- subset(dp, exited)
out$wrong_exit <- list()
for (m in c("logit", "likelihood", "asin", "beta", "mean", "xlogit")) {
  ci <- svyciprop(~affected, dpe, method = m)
  out$wrong_exit[[m]] <- list(estimate = as.numeric(ci), ci = unname(as.numeric(attr(ci, "ci"))))
}
out$recognition <- list()
for (m in c("logit", "likelihood", "asin", "beta", "mean", "xlogit")) {
  ci <- svyciprop(~recognizes, d, method = m)
  out$recognition[[m]] <- list(estimate = as.numeric(ci), ci = unname(as.numeric(attr(ci, "ci"))))
}
by <- svyby(~recognizes, ~township, d, svymean)
out$recognition_by_township <- list(township = by$township, estimate = unname(coef(by)),
                                    se = unname(SE(by)))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "county_reference.json")
