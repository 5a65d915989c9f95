/* probe.c — the linear probe (clipsearch/probe.h): L2-regularised logistic
 * regression fitted by L-BFGS with a strong-Wolfe line search, C chosen by
 * stratified k-fold cross-validation, and applying a probe to embeddings.
 * Everything here is float64 except the inputs and the outputs of apply. */
#include "clipsearch/probe.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#define LBFGS_MEMORY 10
#define LS_MAX_EVALS 40
#define WOLFE_C1 1e-4
#define WOLFE_C2 0.9
/* Rounding allowed in the sufficient-decrease test, relative to |f|: near
 * the optimum, f changes by less than its own rounding error, and only the
 * (exactly computed) gradient still says whether a step helped. */
#define ARMIJO_SLACK 1e-13

clipsearch_probe_params clipsearch_probe_default_params(void)
{
    clipsearch_probe_params p;
    memset(&p, 0, sizeof p);
    p.C = 0;
    p.c_min = 1e-2;
    p.c_max = 1e4;
    p.n_c = 13;
    p.folds = 5;
    p.fallback_C = 1.0;
    p.prior = NULL;
    p.tolerance = 1e-8;
    p.max_iterations = 20000;
    p.seed = 1;
    return p;
}

void clipsearch_probe_free(clipsearch_probe *p)
{
    if (!p)
        return;
    free(p->weights);
    free(p);
}

/* ---- the objective --------------------------------------------------------- */

/* One training problem: rows x[n][d] (float64), labels y[n] = +-1. */
typedef struct problem {
    const double *x;
    const double *y;
    int n, d;
    double C;
    const double *w0; /* [d] or NULL */
    double *z;        /* scratch [n] */
} problem;

/* log(1 + exp(-m)) without overflow or cancellation. */
static double log1pexp_neg(double m)
{
    return m > 0 ? log1p(exp(-m)) : -m + log1p(exp(m));
}

/* 1 / (1 + exp(m)) = sigmoid(-m). */
static double sigmoid_neg(double m)
{
    if (m >= 0) {
        double e = exp(-m);
        return e / (1.0 + e);
    }
    return 1.0 / (1.0 + exp(m));
}

/* f(theta) and its gradient g[d + 1]; theta = (w[d], b). */
static double objective(const problem *P, const double *theta, double *g)
{
    const int n = P->n, d = P->d;
    const double b = theta[d];
    double f = 0, gb = 0, reg = 0;
    if (n > 0)
        cblas_dgemv(CblasRowMajor, CblasNoTrans, n, d, 1.0, P->x, d, theta, 1, 0.0, P->z, 1);
    for (int i = 0; i < n; i++) {
        double m = P->y[i] * (P->z[i] + b);
        f += log1pexp_neg(m);
        /* d loss / d z_i, times C: kept in z for the transposed product. */
        P->z[i] = -P->C * P->y[i] * sigmoid_neg(m);
        gb += P->z[i];
    }
    f *= P->C;
    for (int j = 0; j < d; j++) {
        double dw = theta[j] - (P->w0 ? P->w0[j] : 0.0);
        reg += dw * dw;
        g[j] = dw;
    }
    if (n > 0)
        cblas_dgemv(CblasRowMajor, CblasTrans, n, d, 1.0, P->x, d, P->z, 1, 1.0, g, 1);
    g[d] = gb;
    return f + 0.5 * reg;
}

static double dot(const double *a, const double *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static double norm2(const double *a, int n) { return sqrt(dot(a, a, n)); }

/* ---- L-BFGS ------------------------------------------------------------------ */

typedef struct solver {
    const problem *P;
    int m;                 /* d + 1 */
    double *s, *yv;        /* [LBFGS_MEMORY][m] correction pairs */
    double rho[LBFGS_MEMORY], alpha[LBFGS_MEMORY];
    int n_pairs, head;     /* ring buffer */
    double *p, *xt, *gt;   /* [m] direction, trial point and its gradient */
} solver;

/* p = -H g, the two-loop recursion (Nocedal & Wright, Algorithm 7.4). */
static void direction(solver *S, const double *g)
{
    const int m = S->m;
    for (int j = 0; j < m; j++)
        S->p[j] = -g[j];
    for (int k = 0; k < S->n_pairs; k++) {
        int i = (S->head - 1 - k + LBFGS_MEMORY) % LBFGS_MEMORY;
        const double *si = S->s + (size_t)i * m, *yi = S->yv + (size_t)i * m;
        S->alpha[i] = S->rho[i] * dot(si, S->p, m);
        for (int j = 0; j < m; j++)
            S->p[j] -= S->alpha[i] * yi[j];
    }
    if (S->n_pairs > 0) {
        int i = (S->head - 1 + LBFGS_MEMORY) % LBFGS_MEMORY;
        const double *yi = S->yv + (size_t)i * m;
        double gamma = 1.0 / (S->rho[i] * dot(yi, yi, m)); /* s'y / y'y */
        for (int j = 0; j < m; j++)
            S->p[j] *= gamma;
    }
    for (int k = S->n_pairs - 1; k >= 0; k--) {
        int i = (S->head - 1 - k + LBFGS_MEMORY) % LBFGS_MEMORY;
        const double *si = S->s + (size_t)i * m, *yi = S->yv + (size_t)i * m;
        double beta = S->rho[i] * dot(yi, S->p, m);
        for (int j = 0; j < m; j++)
            S->p[j] += (S->alpha[i] - beta) * si[j];
    }
}

/* Evaluates phi(a) = f(x + a p) into S->xt/S->gt; returns phi, *dphi = phi'(a). */
static double eval_at(solver *S, const double *x, double a, double *dphi)
{
    for (int j = 0; j < S->m; j++)
        S->xt[j] = x[j] + a * S->p[j];
    double f = objective(S->P, S->xt, S->gt);
    *dphi = dot(S->gt, S->p, S->m);
    return f;
}

/* A trial step inside [lo, hi] (either order): the minimiser of the cubic
 * through both ends' values and slopes, kept away from the ends, else the
 * midpoint (Nocedal & Wright, eq. 3.59). */
static double interpolate(double lo, double flo, double dlo, double hi, double fhi, double dhi)
{
    double d1 = dlo + dhi - 3 * (flo - fhi) / (lo - hi);
    double disc = d1 * d1 - dlo * dhi;
    double a = 0.5 * (lo + hi);
    if (disc >= 0 && isfinite(disc)) {
        double d2 = copysign(sqrt(disc), hi - lo);
        double den = dhi - dlo + 2 * d2;
        if (den != 0) {
            double t = hi - (hi - lo) * (dhi + d2 - d1) / den;
            if (isfinite(t))
                a = t;
        }
    }
    double left = lo < hi ? lo : hi, right = lo < hi ? hi : lo, w = right - left;
    if (!(a > left + 0.1 * w && a < right - 0.1 * w))
        a = 0.5 * (lo + hi);
    return a;
}

/* Line search along S->p from x (value f0, slope d0 < 0) for a step meeting
 * the strong Wolfe conditions (Nocedal & Wright, Algorithms 3.5 and 3.6).
 * On success the accepted point and its gradient are in S->xt, S->gt and
 * *f_out its value; returns 0, or -1 when no such step was found. */
static int line_search(solver *S, const double *x, double f0, double d0, double a1,
                       double *f_out)
{
    const double slack = ARMIJO_SLACK * fabs(f0);
    double a_prev = 0, f_prev = f0, d_prev = d0, a = a1, lo, hi, flo, fhi, dlo, dhi;
    int evals = 0;
    for (;;) {
        double da, fa = eval_at(S, x, a, &da);
        evals++;
        if (!isfinite(fa) || fa > f0 + WOLFE_C1 * a * d0 + slack ||
            (evals > 1 && fa >= f_prev)) {
            lo = a_prev, flo = f_prev, dlo = d_prev, hi = a, fhi = fa, dhi = da;
            break;
        }
        if (fabs(da) <= -WOLFE_C2 * d0) {
            *f_out = fa;
            return 0;
        }
        if (da >= 0) {
            lo = a, flo = fa, dlo = da, hi = a_prev, fhi = f_prev, dhi = d_prev;
            break;
        }
        if (evals >= LS_MAX_EVALS)
            return -1;
        a_prev = a, f_prev = fa, d_prev = da;
        a *= 2;
    }
    /* zoom: lo satisfies sufficient decrease, the minimum lies between. */
    while (evals < LS_MAX_EVALS) {
        double da, fa;
        if (!isfinite(fhi)) { /* overflowed end: no cubic through it */
            a = 0.5 * (lo + hi);
        } else {
            a = interpolate(lo, flo, dlo, hi, fhi, dhi);
        }
        fa = eval_at(S, x, a, &da);
        evals++;
        if (!isfinite(fa) || fa > f0 + WOLFE_C1 * a * d0 + slack || fa >= flo) {
            hi = a, fhi = fa, dhi = da;
        } else {
            if (fabs(da) <= -WOLFE_C2 * d0) {
                *f_out = fa;
                return 0;
            }
            if (da * (hi - lo) >= 0)
                hi = lo, fhi = flo, dhi = dlo;
            lo = a, flo = fa, dlo = da;
        }
        if (fabs(hi - lo) <= 1e-16 * fabs(lo))
            break;
    }
    return -1;
}

typedef struct fit_result {
    int iterations;
    double gnorm_rel;
    int converged;
} fit_result;

/* ||grad f(w0, 0)||: the scale the stopping rule is relative to. */
static double reference_gradient_norm(const problem *P, double *theta, double *g)
{
    for (int j = 0; j < P->d; j++)
        theta[j] = P->w0 ? P->w0[j] : 0.0;
    theta[P->d] = 0;
    objective(P, theta, g);
    return norm2(g, P->d + 1);
}

/* Best intercept for fixed w = theta[0..d-1]: Newton's method on the convex
 * 1-D function, with step halving. */
static void fit_intercept(const problem *P, double *theta)
{
    const int n = P->n, d = P->d;
    double b = theta[d];
    if (n == 0)
        return;
    cblas_dgemv(CblasRowMajor, CblasNoTrans, n, d, 1.0, P->x, d, theta, 1, 0.0, P->z, 1);
    for (int it = 0; it < 100; it++) {
        double f = 0, g = 0, h = 0, step, fnew;
        for (int i = 0; i < n; i++) {
            double m = P->y[i] * (P->z[i] + b), s = sigmoid_neg(m);
            f += log1pexp_neg(m);
            g -= P->y[i] * s;
            h += s * (1 - s);
        }
        if (fabs(g) <= 1e-12 * n || h <= 0)
            break;
        step = g / h;
        for (int half = 0; half < 60; half++) {
            fnew = 0;
            for (int i = 0; i < n; i++)
                fnew += log1pexp_neg(P->y[i] * (P->z[i] + b - step));
            if (fnew <= f)
                break;
            step *= 0.5;
        }
        b -= step;
        if (fabs(step) <= 1e-12 * (1 + fabs(b)))
            break;
    }
    theta[d] = b;
}

/* Minimises f from theta[d + 1] (in place). */
static clipsearch_status fit(const problem *P, double *theta, double tol, int max_iter,
                             fit_result *res, clipsearch_error *err)
{
    const int m = P->d + 1;
    solver S = {0};
    double *g = NULL, *gref = NULL, f, gnorm, gscale, a1;
    clipsearch_status r = CLIPSEARCH_OK;
    int it = 0;
    S.P = P;
    S.m = m;
    S.s = malloc((size_t)LBFGS_MEMORY * m * sizeof *S.s);
    S.yv = malloc((size_t)LBFGS_MEMORY * m * sizeof *S.yv);
    S.p = malloc((size_t)m * sizeof *S.p);
    S.xt = malloc((size_t)m * sizeof *S.xt);
    S.gt = malloc((size_t)m * sizeof *S.gt);
    g = malloc((size_t)m * sizeof *g);
    gref = malloc((size_t)m * sizeof *gref);
    if (!S.s || !S.yv || !S.p || !S.xt || !S.gt || !g || !gref) {
        r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    gscale = reference_gradient_norm(P, S.xt, gref);
    f = objective(P, theta, g);
    gnorm = norm2(g, m);
    res->converged = 0;
    for (it = 0; it < max_iter; it++) {
        double d0, fnew;
        if (gnorm <= tol * gscale || gnorm == 0) {
            res->converged = 1;
            break;
        }
        direction(&S, g);
        d0 = dot(g, S.p, m);
        if (!(d0 < 0)) { /* not a descent direction: forget the curvature */
            S.n_pairs = 0;
            direction(&S, g);
            d0 = dot(g, S.p, m);
        }
        /* The quasi-Newton step is well scaled; the very first is not. */
        a1 = S.n_pairs > 0 ? 1.0 : fmin(1.0, 1.0 / gnorm);
        if (line_search(&S, theta, f, d0, a1, &fnew) != 0) {
            if (S.n_pairs == 0)
                break; /* steepest descent failed too: as far as doubles go */
            S.n_pairs = 0;
            continue;
        }
        {
            double *si = S.s + (size_t)S.head * m, *yi = S.yv + (size_t)S.head * m, sy;
            for (int j = 0; j < m; j++) {
                si[j] = S.xt[j] - theta[j];
                yi[j] = S.gt[j] - g[j];
            }
            sy = dot(si, yi, m);
            if (sy > 1e-300) { /* always under strong Wolfe; guard rounding */
                S.rho[S.head] = 1.0 / sy;
                S.head = (S.head + 1) % LBFGS_MEMORY;
                if (S.n_pairs < LBFGS_MEMORY)
                    S.n_pairs++;
            }
        }
        memcpy(theta, S.xt, (size_t)m * sizeof *theta);
        memcpy(g, S.gt, (size_t)m * sizeof *g);
        f = fnew;
        gnorm = norm2(g, m);
    }
    if (!res->converged && (gnorm <= tol * gscale || gnorm == 0))
        res->converged = 1;
    res->iterations = it;
    res->gnorm_rel = gscale > 0 ? gnorm / gscale : gnorm;
out:
    free(S.s);
    free(S.yv);
    free(S.p);
    free(S.xt);
    free(S.gt);
    free(g);
    free(gref);
    return r;
}

/* ---- cross-validation and training ----------------------------------------- */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void shuffle(int *v, int n, uint64_t *state)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(splitmix64(state) % (uint64_t)(i + 1));
        int t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

/* Copies the rows idx[0..k-1] of X, Y into x, y. */
static void gather(const double *X, const double *Y, int d, const int *idx, int k, double *x,
                   double *y)
{
    for (int i = 0; i < k; i++) {
        memcpy(x + (size_t)i * d, X + (size_t)idx[i] * d, (size_t)d * sizeof *x);
        y[i] = Y[idx[i]];
    }
}

/* Stratified k-fold CV over the grid: *best_c, and the pooled held-out
 * accuracy and log-loss at it. */
static clipsearch_status cross_validate(const double *X, const double *Y, int n, int d,
                                        const double *w0, const clipsearch_probe_params *pp,
                                        int k, double *best_c, double *best_acc,
                                        double *best_loss, clipsearch_error *err)
{
    const int n_c = pp->n_c;
    int *fold = NULL, *pos = NULL, *neg = NULL, *tr = NULL, *te = NULL;
    double *loss = NULL, *correct = NULL, *xtr = NULL, *ytr = NULL, *theta = NULL, *z = NULL;
    int n_pos = 0, n_neg = 0;
    uint64_t state = pp->seed;
    clipsearch_status r = CLIPSEARCH_OK;
    fold = malloc((size_t)n * sizeof *fold);
    pos = malloc((size_t)n * sizeof *pos);
    neg = malloc((size_t)n * sizeof *neg);
    tr = malloc((size_t)n * sizeof *tr);
    te = malloc((size_t)n * sizeof *te);
    loss = calloc((size_t)n_c, sizeof *loss);
    correct = calloc((size_t)n_c, sizeof *correct);
    xtr = malloc((size_t)n * d * sizeof *xtr);
    ytr = malloc((size_t)n * sizeof *ytr);
    theta = malloc((size_t)(d + 1) * sizeof *theta);
    z = malloc((size_t)n * sizeof *z);
    if (!fold || !pos || !neg || !tr || !te || !loss || !correct || !xtr || !ytr || !theta ||
        !z) {
        r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        if (Y[i] > 0)
            pos[n_pos++] = i;
        else
            neg[n_neg++] = i;
    }
    /* Each class shuffled and dealt round-robin: every fold gets
     * floor or ceil of its share of both classes. */
    shuffle(pos, n_pos, &state);
    shuffle(neg, n_neg, &state);
    for (int i = 0; i < n_pos; i++)
        fold[pos[i]] = i % k;
    for (int i = 0; i < n_neg; i++)
        fold[neg[i]] = (n_pos + i) % k;
    for (int f = 0; f < k; f++) {
        int n_tr = 0, n_te = 0;
        problem P;
        for (int i = 0; i < n; i++) {
            if (fold[i] == f)
                te[n_te++] = i;
            else
                tr[n_tr++] = i;
        }
        gather(X, Y, d, tr, n_tr, xtr, ytr);
        P.x = xtr;
        P.y = ytr;
        P.n = n_tr;
        P.d = d;
        P.w0 = w0;
        P.z = z;
        for (int j = 0; j < d; j++)
            theta[j] = w0 ? w0[j] : 0.0;
        theta[d] = 0;
        fit_intercept(&(problem){xtr, ytr, n_tr, d, 1.0, w0, z}, theta);
        /* C ascending, each fit started from the previous (a warm start:
         * the solutions move smoothly with C). */
        for (int c = 0; c < n_c; c++) {
            fit_result fr;
            P.C = n_c > 1 ? pp->c_min * pow(pp->c_max / pp->c_min, (double)c / (n_c - 1))
                          : pp->c_min;
            if ((r = fit(&P, theta, pp->tolerance > 1e-7 ? pp->tolerance : 1e-7,
                         pp->max_iterations, &fr, err)) != CLIPSEARCH_OK)
                goto out;
            for (int t = 0; t < n_te; t++) {
                const double *xi = X + (size_t)te[t] * d;
                double zt = dot(xi, theta, d) + theta[d], m = Y[te[t]] * zt;
                loss[c] += log1pexp_neg(m);
                correct[c] += m > 0 ? 1 : 0;
            }
        }
    }
    {
        int best = 0;
        for (int c = 1; c < n_c; c++)
            if (loss[c] < loss[best])
                best = c;
        *best_c = n_c > 1 ? pp->c_min * pow(pp->c_max / pp->c_min, (double)best / (n_c - 1))
                          : pp->c_min;
        *best_acc = correct[best] / n;
        *best_loss = loss[best] / n;
    }
out:
    free(fold);
    free(pos);
    free(neg);
    free(tr);
    free(te);
    free(loss);
    free(correct);
    free(xtr);
    free(ytr);
    free(theta);
    free(z);
    return r;
}

clipsearch_status clipsearch_probe_train(const float *x, const int *labels, int n, int dim,
                                         const clipsearch_probe_params *params,
                                         clipsearch_probe **out, clipsearch_error *err)
{
    clipsearch_probe_params dp = clipsearch_probe_default_params();
    clipsearch_probe *p = NULL;
    double *X = NULL, *Y = NULL, *w0 = NULL, *theta = NULL, *z = NULL;
    int n_pos = 0, n_neg = 0, k;
    clipsearch_status r = CLIPSEARCH_OK;
    if (!out)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    if (!params)
        params = &dp;
    if (!x || !labels || n <= 0 || dim <= 0)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "a probe needs examples (got %d of dimension %d)", n, dim);
    if (params->C < 0 || !isfinite(params->C) ||
        (params->C == 0 && !(params->c_min > 0 && params->c_max >= params->c_min &&
                             isfinite(params->c_max) && params->n_c >= 1 && params->folds >= 2)) ||
        !(params->fallback_C > 0) || !(params->tolerance > 0) || params->max_iterations < 1)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "invalid probe parameters (C %g, grid %g..%g x %d, %d folds, "
                            "tolerance %g)",
                            params->C, params->c_min, params->c_max, params->n_c,
                            params->folds, params->tolerance);
    for (int i = 0; i < n; i++) {
        if (labels[i] != 0 && labels[i] != 1)
            return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                                "label %d of example %d is neither 1 nor 0", labels[i], i);
        if (labels[i])
            n_pos++;
        else
            n_neg++;
    }
    if (n_pos == 0 || n_neg == 0)
        return cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                            "a probe needs positive and negative examples (got %d positive, "
                            "%d negative)",
                            n_pos, n_neg);
    X = malloc((size_t)n * dim * sizeof *X);
    Y = malloc((size_t)n * sizeof *Y);
    theta = malloc((size_t)(dim + 1) * sizeof *theta);
    z = malloc((size_t)n * sizeof *z);
    if (params->prior)
        w0 = malloc((size_t)dim * sizeof *w0);
    p = calloc(1, sizeof *p);
    if (!X || !Y || !theta || !z || (params->prior && !w0) || !p) {
        r = cs_error_set(err, CLIPSEARCH_ERR_OUT_OF_MEMORY, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < (size_t)n * dim; i++) {
        if (!isfinite(x[i])) {
            r = cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                             "example %zu has a non-finite value", i / (size_t)dim);
            goto out;
        }
        X[i] = x[i];
    }
    for (int i = 0; i < n; i++)
        Y[i] = labels[i] ? 1.0 : -1.0;
    if (w0) {
        for (int j = 0; j < dim; j++) {
            if (!isfinite(params->prior[j])) {
                r = cs_error_set(err, CLIPSEARCH_ERR_INVALID_ARGUMENT,
                                 "the prior has a non-finite value");
                goto out;
            }
            w0[j] = params->prior[j];
        }
    }
    p->dim = dim;
    p->n_positive = n_pos;
    p->n_negative = n_neg;
    p->cv_accuracy = NAN;
    p->cv_log_loss = NAN;
    /* Folds need an example of each class each, and folds of one or two
     * photos choose C by noise: cross-validate with at least `folds`
     * examples of each class, else take the fallback. */
    k = params->folds;
    if (params->C > 0) {
        p->C = params->C;
    } else if (n_pos < k || n_neg < k) {
        p->C = params->fallback_C;
    } else {
        if ((r = cross_validate(X, Y, n, dim, w0, params, k, &p->C, &p->cv_accuracy,
                                &p->cv_log_loss, err)) != CLIPSEARCH_OK)
            goto out;
        p->cv_folds = k;
    }
    {
        problem P = {X, Y, n, dim, p->C, w0, z};
        fit_result fr;
        for (int j = 0; j < dim; j++)
            theta[j] = w0 ? w0[j] : 0.0;
        theta[dim] = 0;
        fit_intercept(&P, theta);
        if ((r = fit(&P, theta, params->tolerance, params->max_iterations, &fr, err)) !=
            CLIPSEARCH_OK)
            goto out;
        p->iterations = fr.iterations;
        p->gradient_norm = fr.gnorm_rel;
        p->converged = fr.converged;
    }
    p->weights = theta;
    theta = NULL;
    p->bias = p->weights[dim];
    *out = p;
    p = NULL;
out:
    free(X);
    free(Y);
    free(w0);
    free(theta);
    free(z);
    clipsearch_probe_free(p);
    return r;
}

double clipsearch_probe_objective(const clipsearch_probe *p, const float *x, const int *labels,
                                  int n, const float *prior, double *grad)
{
    const int d = p->dim;
    double *X = malloc((size_t)n * d * sizeof *X), *Y = malloc((size_t)n * sizeof *Y);
    double *z = malloc((size_t)n * sizeof *z), *theta = malloc((size_t)(d + 1) * sizeof *theta);
    double *g = malloc((size_t)(d + 1) * sizeof *g), *w0 = prior ? malloc((size_t)d * sizeof *w0) : NULL;
    double f = NAN;
    if (X && Y && z && theta && g && (!prior || w0)) {
        problem P = {X, Y, n, d, p->C, w0, z};
        for (size_t i = 0; i < (size_t)n * d; i++)
            X[i] = x[i];
        for (int i = 0; i < n; i++)
            Y[i] = labels[i] ? 1.0 : -1.0;
        for (int j = 0; j < d && w0; j++)
            w0[j] = prior[j];
        memcpy(theta, p->weights, (size_t)d * sizeof *theta);
        theta[d] = p->bias;
        f = objective(&P, theta, g);
        if (grad)
            memcpy(grad, g, (size_t)(d + 1) * sizeof *grad);
    }
    free(X);
    free(Y);
    free(z);
    free(theta);
    free(g);
    free(w0);
    return f;
}

void clipsearch_probe_apply(const clipsearch_probe *p, const float *x, int64_t n, float *logits,
                            float *probs)
{
    enum { BLOCK = 2048 };
    const int d = p->dim;
    const int64_t n_blocks = (n + BLOCK - 1) / BLOCK;
    float *w = malloc((size_t)d * sizeof *w);
    if (!w) { /* no memory for the float copy: the slow exact way */
        for (int64_t i = 0; i < n; i++) {
            double z = p->bias;
            for (int j = 0; j < d; j++)
                z += p->weights[j] * x[(size_t)i * d + j];
            if (logits)
                logits[i] = (float)z;
            if (probs)
                probs[i] = (float)(z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z)));
        }
        return;
    }
    /* One float matrix-vector product per block of rows (memory-bound: the
     * embeddings are read once); float32 accumulation changes a logit by
     * ~1e-6 of |w|. */
    for (int j = 0; j < d; j++)
        w[j] = (float)p->weights[j];
#pragma omp parallel
    {
        float zb[BLOCK];
#pragma omp for schedule(static)
        for (int64_t b = 0; b < n_blocks; b++) {
            int64_t i0 = b * BLOCK;
            int rows = (int)(n - i0 < BLOCK ? n - i0 : BLOCK);
            cblas_sgemv(CblasRowMajor, CblasNoTrans, rows, d, 1.0f, x + (size_t)i0 * d, d, w, 1,
                        0.0f, zb, 1);
            for (int r = 0; r < rows; r++) {
                double z = (double)zb[r] + p->bias;
                if (logits)
                    logits[i0 + r] = (float)z;
                if (probs)
                    probs[i0 + r] =
                        (float)(z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z)));
            }
        }
    }
    free(w);
}
