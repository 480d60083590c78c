# Reference values for evalkit's SurveyDesign(pps="brewer"): villages drawn with probability
# proportional to size without replacement, variance by Brewer's approximation, as R's
# svydesign(fpc = ~pi, pps = "brewer"), computed with R's survey package. Run from this folder:
#   Rscript make_pps_reference.R   (writes pps_sample.csv and pps_reference.json)
# The sample is made here (set.seed): three strata of villages with unequal sizes, each drawn
# by systematic PPS (one certainty village in stratum C, pi = 1), then households by simple
# random sampling within each village. Columns: stratum, village, pi (village inclusion
# probability), f2 (household sampling fraction in the village), weight = 1 / (pi f2),
# hh (household id), type (exited / nonreg; some villages have no exited household), size
# (people), income, wrong (people wrongly exited, <= size), rec (0/1), rare (0/1, 2 events).
# Rows are sorted by stratum and village: R's onestrat pairs each PSU's scale, taken in order
# of first appearance, with rowsum()'s PSU totals, taken in sorted order, so R gives Brewer's
# variance only when the two orders agree (evalkit pairs them by PSU code in any order).
suppressMessages({library(survey); library(jsonlite)})
set.seed(20251204)

pps_systematic <- function(x, n) {
  pi <- n * x / sum(x)
  while (any(pi > 1 & pi < Inf)) {  # certainty units, as sampling::inclusionprobabilities
    big <- pi >= 1
    pi[big] <- 1
    pi[!big] <- (n - sum(big)) * x[!big] / sum(x[!big])
    if (!any(pi[!big] > 1)) break
  }
  rest <- which(pi < 1)
  cum <- cumsum(pi[rest])
  u <- runif(1)
  hit <- floor(cum - u) > floor(c(0, head(cum, -1)) - u)
  chosen <- sort(c(which(pi >= 1), rest[hit]))
  list(index = chosen, pi = pi[chosen])
}

strata <- list(A = list(N = 14, n = 4), B = list(N = 16, n = 5), C = list(N = 11, n = 4))
rows <- list()
for (h in names(strata)) {
  sizes <- sample(25:160, strata[[h]]$N, replace = TRUE)
  if (h == "C") sizes[3] <- 900  # a certainty village
  s <- pps_systematic(sizes, strata[[h]]$n)
  for (k in seq_along(s$index)) {
    v <- s$index[k]
    M <- sizes[v]
    m <- sample(6:10, 1)
    village <- sprintf("%s%02d", h, v)
    exited_share <- if (k == 2) 0 else runif(1, 0.2, 0.6)
    type <- ifelse(runif(m) < exited_share, "exited", "nonreg")
    size <- sample(1:7, m, replace = TRUE)
    income <- round(rlnorm(m, 9 + 0.1 * k, 0.5))
    wrong <- ifelse(type == "exited" & runif(m) < 0.25, pmin(size, sample(1:3, m, TRUE)), 0)
    rec <- as.numeric(runif(m) < plogis(1.5 + 0.2 * size - 0.5 * (type == "exited")))
    rows[[length(rows) + 1]] <- data.frame(
      stratum = h, village = village, pi = s$pi[k], f2 = m / M,
      weight = 1 / (s$pi[k] * m / M), hh = sprintf("%s-%02d", village, seq_len(m)),
      type = type, size = size, income = income, wrong = wrong, rec = rec, rare = 0)
  }
}
sample_data <- do.call(rbind, rows)
sample_data$rare[c(3, 40)] <- 1
sample_data <- sample_data[order(sample_data$stratum, sample_data$village), ]
write.csv(sample_data, "pps_sample.csv", row.names = FALSE)
d <- read.csv("pps_sample.csv")
d$sizeclass <- ifelse(d$size >= 4, "big", "small")

designs <- list(
  brewer = svydesign(id = ~village, strata = ~stratum, weights = ~weight, fpc = ~pi,
                     pps = "brewer", data = d),
  brewer_nostrata = svydesign(id = ~village, weights = ~weight, fpc = ~pi,
                              pps = "brewer", data = d),
  brewer_twostage = svydesign(id = ~village + hh, strata = ~stratum, fpc = ~pi + f2,
                              pps = "brewer", data = d),
  with_replacement = svydesign(id = ~village, strata = ~stratum, weights = ~weight, data = d)
)

w <- weights(designs$brewer)
N <- round(sum(w) * 1.03)
type_counts <- c(exited = round(sum(w[d$type == "exited"]) * 0.95), nonreg = 0)
type_counts[["nonreg"]] <- N - type_counts[["exited"]]
class_counts <- c(big = round(N * 0.52), small = N - round(N * 0.52))
people_exited <- round(sum(w * d$size * (d$type == "exited")) * 0.97)
people_nonreg <- round(sum(w * d$size * (d$type == "nonreg")) * 1.02)
counts <- list(type = as.list(type_counts), sizeclass = as.list(class_counts))
# People totals as margins: household size within each household type (R's size:type).
linear_totals <- c(`(Intercept)` = N, typenonreg = type_counts[["nonreg"]],
                   `typeexited:size` = people_exited, `typenonreg:size` = people_nonreg)
strata_w <- tapply(w, d$stratum, sum)
raking_totals <- c(`(Intercept)` = N, stratumB = round(strata_w[["B"]] * 1.03),
                   stratumC = round(strata_w[["C"]] * 1.03),
                   typenonreg = type_counts[["nonreg"]])

pop_frame <- function(column, counts) {
  out <- data.frame(names(counts), as.numeric(unlist(counts)))
  names(out) <- c(column, "Freq")
  out
}
f <- function(v) as.formula(paste0("~", v))
stat <- function(s) list(estimate = unname(coef(s))[1], se = unname(SE(s))[1])
props <- function(design, var) {
  out <- list()
  for (m in c("logit", "likelihood", "asin", "beta", "mean", "xlogit")) {
    r <- svyciprop(f(var), design, method = m)
    out[[m]] <- list(estimate = as.numeric(r), ci = unname(as.numeric(attr(r, "ci"))))
  }
  out
}
# Korn-Graubard in a domain with n the domain's rows (svyciprop's nrow(design) for a design
# whose subset drops the other rows; a PPS or calibrated design's subset keeps them at weight
# 0 and svyciprop then counts them: evalkit counts the domain's rows, see its intervals.py).
beta_domain_rows <- function(design, var, level = 0.95) {
  m <- svymean(f(var), design)
  p <- unname(coef(m))
  n_rows <- sum(weights(design) > 0)
  alpha <- 1 - level
  n_eff <- p * (1 - p) / unname(vcov(m)[1, 1]) *
    (qt(alpha / 2, n_rows - 1) / qt(alpha / 2, degf(design)))^2
  c(qbeta(alpha / 2, n_eff * p, n_eff * (1 - p) + 1),
    qbeta(1 - alpha / 2, n_eff * p + 1, n_eff * (1 - p)))
}
summarise <- function(design) {
  r <- svyratio(~wrong, ~size, design)
  g <- svyglm(rec ~ size + income, design, family = quasibinomial())
  by <- svyby(~income, ~type, design, svymean)
  by_ratio <- svyby(~wrong, ~stratum, design, svyratio, denominator = ~size)
  sub <- subset(design, type == "exited")
  m <- svymean(~income, design, deff = TRUE)
  list(
    degf = degf(design),
    weights = unname(weights(design)),
    mean = c(stat(m), list(deff = unname(deff(m)))),
    total = stat(svytotal(~wrong, design)),
    ratio = list(estimate = unname(coef(r)), se = unname(SE(r))),
    prop = props(design, "rec"),
    rare = props(design, "rare"),
    glm = list(names = names(coef(g)), coef = unname(coef(g)), se = unname(SE(g))),
    by = list(levels = as.character(by$type), estimate = unname(coef(by)),
              se = unname(SE(by))),
    by_ratio = list(levels = as.character(by_ratio$stratum), estimate = unname(coef(by_ratio)),
                    se = unname(SE(by_ratio))),
    subset_mean = stat(svymean(~income, sub)),
    subset_ratio = {
      s <- svyratio(~wrong, ~size, sub)
      list(estimate = unname(coef(s)), se = unname(SE(s)))
    },
    subset_prop = props(sub, "rec"),
    subset_beta_domain_rows = beta_domain_rows(sub, "rec")
  )
}

res <- list()
for (name in names(designs)) {
  dd <- designs[[name]]
  entry <- list(uncalibrated = summarise(dd))
  if (name %in% c("brewer", "brewer_twostage")) {
    entry$poststratify <- summarise(postStratify(dd, ~type, pop_frame("type", counts$type)))
    entry$rake <- summarise(rake(dd, list(~type, ~sizeclass),
                                 list(pop_frame("type", counts$type),
                                      pop_frame("sizeclass", counts$sizeclass))))
    lin <- calibrate(dd, ~type + size:type, linear_totals)
    entry$calibrate_linear <- summarise(lin)
    entry$people_check <- list(
      exited = stat(svytotal(~size, subset(lin, type == "exited"))),
      nonreg = stat(svytotal(~size, subset(lin, type == "nonreg"))))
    entry$calibrate_raking <- summarise(calibrate(dd, ~stratum + type, raking_totals,
                                                  calfun = "raking"))
  }
  res[[name]] <- entry
}
# Where R's subset drops rows, its own Korn-Graubard interval is the domain-rows one.
plain <- subset(designs$with_replacement, type == "exited")
stopifnot(isTRUE(all.equal(beta_domain_rows(plain, "rec"),
                           unname(as.numeric(attr(svyciprop(~rec, plain, method = "beta"),
                                                  "ci"))), tolerance = 1e-12)))
res$counts <- counts
res$linear_totals <- as.list(setNames(linear_totals, c("Intercept", "type[nonreg]",
                                                       "exited:size", "nonreg:size")))
res$raking_totals <- as.list(setNames(raking_totals, c("Intercept", "stratum[B]",
                                                       "stratum[C]", "type[nonreg]")))
res$r_version <- R.version.string
res$survey_version <- as.character(packageVersion("survey"))
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE), "pps_reference.json")
