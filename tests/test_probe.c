/* test_probe.c — the linear probe's solver and cross-validation
 * (clipsearch/probe.h) on synthetic data, against this file's own float64
 * reference: the gradient of the objective at the returned weights, and
 * Newton's method with the exact Hessian on the same objective. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clipsearch.h"
#include "clipsearch/probe.h"
#include "testutil.h"

static uint64_t rng = 42;
static double uniform(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return ((rng >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void) { return sqrt(-2 * log(uniform())) * cos(6.283185307179586 * uniform()); }

/* n unit vectors in R^d: a random direction u and labels y = [u.x + noise > t].
 * margin > 0: points closer than margin to the boundary are redrawn (a
 * separable set). */
static void make_set(int n, int d, double noise, double margin, double t, float *x, int *y,
                     double *u)
{
    double un = 0;
    for (int j = 0; j < d; j++) {
        u[j] = gauss();
        un += u[j] * u[j];
    }
    for (int j = 0; j < d; j++)
        u[j] /= sqrt(un);
    for (int i = 0; i < n; i++) {
        double v[512], nn = 0, s = 0;
        for (int j = 0; j < d; j++) {
            v[j] = gauss();
            nn += v[j] * v[j];
        }
        for (int j = 0; j < d; j++) {
            v[j] /= sqrt(nn);
            s += u[j] * v[j];
        }
        if (margin > 0 && fabs(s - t) < margin) {
            i--;
            continue;
        }
        for (int j = 0; j < d; j++)
            x[(size_t)i * d + j] = (float)v[j];
        y[i] = s + noise * gauss() > t;
    }
}

/* f and gradient [d+1] in float64, written out independently of probe.c. */
static double ref_objective(const float *x, const int *y, int n, int d, double C,
                            const double *w0, const double *th, double *g)
{
    double f = 0;
    for (int j = 0; j <= d; j++)
        g[j] = 0;
    for (int i = 0; i < n; i++) {
        double z = th[d], yy = y[i] ? 1 : -1, m, s;
        for (int j = 0; j < d; j++)
            z += th[j] * x[(size_t)i * d + j];
        m = yy * z;
        f += C * (m > 0 ? log1p(exp(-m)) : -m + log1p(exp(m)));
        s = 1 / (1 + exp(m)); /* sigmoid(-m) */
        for (int j = 0; j < d; j++)
            g[j] -= C * yy * s * x[(size_t)i * d + j];
        g[d] -= C * yy * s;
    }
    for (int j = 0; j < d; j++) {
        double dw = th[j] - (w0 ? w0[j] : 0);
        f += 0.5 * dw * dw;
        g[j] += dw;
    }
    return f;
}

static double vnorm(const double *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += v[i] * v[i];
    return sqrt(s);
}

/* ||grad f(w, b)|| / ||grad f(w0, 0)|| at the probe's weights. */
static double rel_gradient(const clipsearch_probe *p, const float *x, const int *y, int n,
                           const double *w0)
{
    int d = p->dim;
    double *th = calloc((size_t)d + 1, sizeof *th), *g = calloc((size_t)d + 1, sizeof *g), r0,
           r;
    for (int j = 0; j < d; j++)
        th[j] = w0 ? w0[j] : 0;
    th[d] = 0;
    ref_objective(x, y, n, d, p->C, w0, th, g);
    r0 = vnorm(g, d + 1);
    memcpy(th, p->weights, (size_t)d * sizeof *th);
    th[d] = p->bias;
    ref_objective(x, y, n, d, p->C, w0, th, g);
    r = vnorm(g, d + 1) / r0;
    free(th);
    free(g);
    return r;
}

/* Newton's method with the exact Hessian, Cholesky solve, backtracking:
 * the reference minimiser theta[d+1]. */
static void newton(const float *x, const int *y, int n, int d, double C, const double *w0,
                   double *th)
{
    int m = d + 1;
    double *g = malloc((size_t)m * sizeof *g), *H = malloc((size_t)m * m * sizeof *H),
           *step = malloc((size_t)m * sizeof *step), *tt = malloc((size_t)m * sizeof *tt),
           *gt = malloc((size_t)m * sizeof *gt);
    for (int j = 0; j < d; j++)
        th[j] = w0 ? w0[j] : 0;
    th[d] = 0;
    for (int it = 0; it < 500; it++) {
        double f = ref_objective(x, y, n, d, C, w0, th, g), a = 1;
        if (vnorm(g, m) < 1e-14 * (1 + fabs(f)))
            break;
        memset(H, 0, (size_t)m * m * sizeof *H);
        for (int i = 0; i < n; i++) {
            double z = th[d], s, w, xi[513];
            for (int j = 0; j < d; j++) {
                xi[j] = x[(size_t)i * d + j];
                z += th[j] * xi[j];
            }
            xi[d] = 1;
            s = 1 / (1 + exp(-z));
            w = C * s * (1 - s);
            for (int r = 0; r < m; r++)
                for (int c = 0; c < m; c++)
                    H[r * m + c] += w * xi[r] * xi[c];
        }
        for (int j = 0; j < d; j++)
            H[j * m + j] += 1;
        /* Cholesky in place: H = L L^T. */
        for (int j = 0; j < m; j++) {
            double s = H[j * m + j];
            for (int k = 0; k < j; k++)
                s -= H[j * m + k] * H[j * m + k];
            H[j * m + j] = sqrt(s);
            for (int i = j + 1; i < m; i++) {
                double t = H[i * m + j];
                for (int k = 0; k < j; k++)
                    t -= H[i * m + k] * H[j * m + k];
                H[i * m + j] = t / H[j * m + j];
            }
        }
        for (int i = 0; i < m; i++) { /* L u = -g */
            double t = -g[i];
            for (int k = 0; k < i; k++)
                t -= H[i * m + k] * step[k];
            step[i] = t / H[i * m + i];
        }
        for (int i = m - 1; i >= 0; i--) { /* L^T s = u */
            double t = step[i];
            for (int k = i + 1; k < m; k++)
                t -= H[k * m + i] * step[k];
            step[i] = t / H[i * m + i];
        }
        for (int half = 0; half < 60; half++, a *= 0.5) {
            for (int j = 0; j < m; j++)
                tt[j] = th[j] + a * step[j];
            if (ref_objective(x, y, n, d, C, w0, tt, gt) <= f)
                break;
        }
        memcpy(th, tt, (size_t)m * sizeof *th);
    }
    free(g);
    free(H);
    free(step);
    free(tt);
    free(gt);
}

static int count_pos(const int *y, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += y[i];
    return k;
}

/* One fixed-C fit against Newton. */
static void check_against_newton(const char *what, int n, int d, double noise, double margin,
                                 double C, int with_prior)
{
    float *x = malloc((size_t)n * d * sizeof *x), *pf = NULL;
    int *y = malloc((size_t)n * sizeof *y);
    double *u = malloc((size_t)d * sizeof *u), *ref = malloc(((size_t)d + 1) * sizeof *ref),
           *w0 = NULL, maxdiff = 0, maxref = 0, rg;
    clipsearch_probe_params pp = clipsearch_probe_default_params();
    clipsearch_probe *p = NULL;
    clipsearch_error err = {0};
    make_set(n, d, noise, margin, 0.1, x, y, u);
    if (with_prior) {
        /* A prior pointing roughly, not exactly, the right way. */
        w0 = malloc((size_t)d * sizeof *w0);
        pf = malloc((size_t)d * sizeof *pf);
        for (int j = 0; j < d; j++) {
            pf[j] = (float)(20 * u[j] + 3 * gauss());
            w0[j] = pf[j];
        }
        pp.prior = pf;
    }
    pp.C = C;
    CHECK(clipsearch_probe_train(x, y, n, d, &pp, &p, &err) == CLIPSEARCH_OK, "%s: %s", what,
          err.message);
    if (p) {
        newton(x, y, n, d, C, w0, ref);
        for (int j = 0; j <= d; j++) {
            double got = j < d ? p->weights[j] : p->bias;
            if (fabs(got - ref[j]) > maxdiff)
                maxdiff = fabs(got - ref[j]);
            if (fabs(ref[j]) > maxref)
                maxref = fabs(ref[j]);
        }
        rg = rel_gradient(p, x, y, n, w0);
        printf("%-44s n %d d %d C %-6g pos %3d: %5d iterations, |grad| %.2e rel, "
               "max|w - newton| %.2e (max|w| %.3g)\n",
               what, n, d, C, count_pos(y, n), p->iterations, rg, maxdiff, maxref);
        CHECK(p->converged, "%s: not converged", what);
        CHECK(rg < 1e-6, "%s: relative gradient %g", what, rg);
        CHECK(maxdiff <= 1e-4 * (maxref > 1 ? maxref : 1), "%s: max diff %g (max %g)", what,
              maxdiff, maxref);
        CHECK(fabs(rg - p->gradient_norm) <= 1e-3 * rg + 1e-15,
              "%s: reported gradient %g, measured %g", what, p->gradient_norm, rg);
    }
    clipsearch_probe_free(p);
    free(x);
    free(y);
    free(u);
    free(ref);
    free(w0);
    free(pf);
}

static void test_against_newton(void)
{
    /* non-separable: label noise */
    check_against_newton("non-separable", 200, 16, 0.15, 0, 1.0, 0);
    check_against_newton("non-separable, large C", 200, 16, 0.15, 0, 1000.0, 0);
    check_against_newton("non-separable, small C", 200, 16, 0.15, 0, 0.01, 0);
    /* separable with a margin: the unregularised optimum is at infinity */
    check_against_newton("separable", 150, 12, 0, 0.05, 10.0, 0);
    check_against_newton("separable, C 1e4", 150, 12, 0, 0.05, 1e4, 0);
    check_against_newton("separable, more dimensions than examples", 40, 64, 0, 0.02, 100.0,
                         0);
    /* with a prior centre */
    check_against_newton("non-separable, prior", 200, 16, 0.15, 0, 1.0, 1);
    check_against_newton("separable, prior, C 100", 150, 12, 0, 0.05, 100.0, 1);
    check_against_newton("low noise, C 10", 300, 16, 0.05, 0, 10.0, 0);
}

/* Optimality of the cross-validated fit on CLIP-sized data. */
static void test_optimality_cv(void)
{
    int n = 400, d = 512;
    float *x = malloc((size_t)n * d * sizeof *x);
    int *y = malloc((size_t)n * sizeof *y);
    double *u = malloc((size_t)d * sizeof *u), rg;
    clipsearch_probe *p = NULL;
    clipsearch_error err = {0};
    make_set(n, d, 0.02, 0, 0.05, x, y, u);
    CHECK(clipsearch_probe_train(x, y, n, d, NULL, &p, &err) == CLIPSEARCH_OK, "%s",
          err.message);
    if (p) {
        rg = rel_gradient(p, x, y, n, NULL);
        printf("CV fit, n %d d %d, %d positive: C %g (%d folds, accuracy %.3f, log-loss %.3f), "
               "%d iterations, |grad| %.2e rel\n",
               n, d, count_pos(y, n), p->C, p->cv_folds, p->cv_accuracy, p->cv_log_loss,
               p->iterations, rg);
        CHECK(rg < 1e-6, "relative gradient %g", rg);
        CHECK(p->cv_folds == 5, "folds %d", p->cv_folds);
        CHECK(p->n_positive == count_pos(y, n) && p->n_positive + p->n_negative == n,
              "counts");
        CHECK(p->cv_accuracy > 0.6 && p->cv_accuracy <= 1, "accuracy %g", p->cv_accuracy);
    }
    clipsearch_probe_free(p);
    free(x);
    free(y);
    free(u);
}

/* Cross-validation picks a small C for labels that are noise, and a large
 * one for a clean, separable concept. */
static void test_cv_choice(void)
{
    int n = 200, d = 32;
    float *x = malloc((size_t)n * d * sizeof *x);
    int *y = malloc((size_t)n * sizeof *y);
    double *u = malloc((size_t)d * sizeof *u);
    clipsearch_probe *p = NULL;
    clipsearch_error err = {0};
    make_set(n, d, 0, 0.03, 0.0, x, y, u);
    for (int i = 0; i < n; i++) /* labels independent of x */
        y[i] = uniform() < 0.5;
    CHECK(clipsearch_probe_train(x, y, n, d, NULL, &p, &err) == CLIPSEARCH_OK, "%s",
          err.message);
    if (p) {
        printf("noise labels: C %g, cv accuracy %.3f, log-loss %.3f\n", p->C, p->cv_accuracy,
               p->cv_log_loss);
        CHECK(p->C <= 0.1, "noise labels: C %g should be small", p->C);
        CHECK(p->cv_accuracy < 0.65, "noise labels: cv accuracy %g", p->cv_accuracy);
    }
    clipsearch_probe_free(p);
    p = NULL;
    make_set(n, d, 0, 0.03, 0.0, x, y, u);
    CHECK(clipsearch_probe_train(x, y, n, d, NULL, &p, &err) == CLIPSEARCH_OK, "%s",
          err.message);
    if (p) {
        printf("separable concept: C %g, cv accuracy %.3f, log-loss %.3f\n", p->C,
               p->cv_accuracy, p->cv_log_loss);
        CHECK(p->C >= 10, "separable: C %g should be large", p->C);
        CHECK(p->cv_accuracy >= 0.9, "separable: cv accuracy %g", p->cv_accuracy);
    }
    clipsearch_probe_free(p);
    free(x);
    free(y);
    free(u);
}

/* With a text prior and only one or two positives, the probe stays near
 * the prior's direction (and ranks like it); without a prior, one positive
 * is all it knows. */
static void test_prior(void)
{
    int d = 64, n_neg = 100;
    float *x = malloc((size_t)(n_neg + 2) * d * sizeof *x), prior[64];
    int y[102];
    double u[64];
    make_set(n_neg + 2, d, 0, 0, 0.0, x, y, u);
    for (int j = 0; j < d; j++)
        prior[j] = (float)(100 * u[j]); /* the "text": exactly the concept */
    /* The two examples most like the concept first: the positives. */
    for (int k = 0; k < 2; k++) {
        int best = k;
        double bs = -2;
        for (int i = k; i < n_neg + 2; i++) {
            double s = 0;
            for (int j = 0; j < d; j++)
                s += u[j] * x[(size_t)i * d + j];
            if (s > bs)
                bs = s, best = i;
        }
        for (int j = 0; j < d; j++) {
            float t = x[(size_t)k * d + j];
            x[(size_t)k * d + j] = x[(size_t)best * d + j];
            x[(size_t)best * d + j] = t;
        }
    }
    for (int n_pos = 1; n_pos <= 2; n_pos++) {
        int n = n_neg + n_pos, lab[102];
        clipsearch_probe_params pp = clipsearch_probe_default_params();
        clipsearch_probe *p = NULL;
        clipsearch_error err = {0};
        double cw = 0, ww = 0, pw = 0;
        for (int i = 0; i < n; i++)
            lab[i] = i < n_pos;
        pp.prior = prior;
        CHECK(clipsearch_probe_train(x, lab, n, d, &pp, &p, &err) == CLIPSEARCH_OK, "%s",
              err.message);
        if (!p)
            continue;
        for (int j = 0; j < d; j++) {
            cw += p->weights[j] * prior[j];
            ww += p->weights[j] * p->weights[j];
            pw += (double)prior[j] * prior[j];
        }
        cw /= sqrt(ww * pw);
        printf("prior, %d positive(s): C %g (folds %d), cos(w, prior) %.4f, |w|/|prior| %.3f\n",
               n_pos, p->C, p->cv_folds, cw, sqrt(ww / pw));
        CHECK(cw > 0.95, "%d positives: cos(w, prior) %g", n_pos, cw);
        CHECK(rel_gradient(p, x, lab, n, NULL) >= 0, "finite");
        clipsearch_probe_free(p);
    }
    free(x);
}

static void test_bad_input(void)
{
    float x[8] = {1, 0, 0, 1, 0.5f, 0.5f, NAN, 0};
    int y[4] = {1, 1, 1, 1}, y2[4] = {1, 0, 1, 0}, y3[4] = {1, 0, 2, 0};
    clipsearch_probe *p = NULL;
    clipsearch_error err = {0};
    clipsearch_probe_params pp = clipsearch_probe_default_params();
    CHECK(clipsearch_probe_train(x, y, 3, 2, NULL, &p, &err) == CLIPSEARCH_ERR_INVALID_ARGUMENT &&
              !p && strstr(err.message, "0 negative"),
          "no negatives: %s", err.message);
    CHECK(clipsearch_probe_train(x, y2, 4, 2, NULL, &p, &err) ==
                  CLIPSEARCH_ERR_INVALID_ARGUMENT && !p,
          "NaN refused");
    CHECK(clipsearch_probe_train(x, y3, 3, 2, NULL, &p, &err) ==
                  CLIPSEARCH_ERR_INVALID_ARGUMENT && !p,
          "label 2 refused");
    CHECK(clipsearch_probe_train(x, y2, 0, 2, NULL, &p, &err) ==
                  CLIPSEARCH_ERR_INVALID_ARGUMENT,
          "no examples");
    pp.C = -1;
    CHECK(clipsearch_probe_train(x, y2, 3, 2, &pp, &p, &err) == CLIPSEARCH_ERR_INVALID_ARGUMENT,
          "C < 0");
    /* one example per class: no CV, fallback C */
    CHECK(clipsearch_probe_train(x, y2, 2, 2, NULL, &p, &err) == CLIPSEARCH_OK && p &&
              p->cv_folds == 0 && p->C == 1.0 && isnan(p->cv_accuracy),
          "2 examples: %s", err.message);
    clipsearch_probe_free(p);
}

static void test_apply(void)
{
    int n = 50, d = 8;
    float x[400], logits[50], probs[50];
    int y[50];
    double u[8], maxd = 0;
    clipsearch_probe *p = NULL;
    clipsearch_error err = {0};
    make_set(n, d, 0.1, 0, 0, x, y, u);
    CHECK(clipsearch_probe_train(x, y, n, d, NULL, &p, &err) == CLIPSEARCH_OK, "%s",
          err.message);
    if (!p)
        return;
    clipsearch_probe_apply(p, x, n, logits, probs);
    for (int i = 0; i < n; i++) {
        double z = p->bias, pr;
        for (int j = 0; j < d; j++)
            z += p->weights[j] * x[i * d + j];
        pr = 1 / (1 + exp(-z));
        maxd = fmax(maxd, fabs(logits[i] - z) / (1 + fabs(z)));
        maxd = fmax(maxd, fabs(probs[i] - pr));
    }
    CHECK(maxd < 1e-6, "apply differs by %g", maxd);
    clipsearch_probe_apply(p, x, n, NULL, probs); /* either output may be NULL */
    clipsearch_probe_free(p);
}

int main(void)
{
    test_against_newton();
    test_optimality_cv();
    test_cv_choice();
    test_prior();
    test_bad_input();
    test_apply();
    return tu_finish("test_probe");
}
