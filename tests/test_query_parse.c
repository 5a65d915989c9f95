/* test_query_parse.c — query terms ("2:beach", photo paths) and filter dates. */
#include <math.h>
#include <string.h>

#include "clipsearch.h"
#include "testutil.h"

static void terms(void)
{
    clipsearch_query_term t;
    char photo[1100];
    CHECK(clipsearch_query_term_parse("2:beach", 1, &t, NULL) == CLIPSEARCH_OK && t.weight == 2 &&
              !strcmp(t.value, "beach") && t.kind == CLIPSEARCH_TERM_TEXT,
          "weighted text");
    CHECK(clipsearch_query_term_parse("0.5:people", -1, &t, NULL) == CLIPSEARCH_OK &&
              fabsf(t.weight + 0.5f) < 1e-7f,
          "subtracted weight");
    CHECK(clipsearch_query_term_parse("sunset", 1, &t, NULL) == CLIPSEARCH_OK && t.weight == 1 &&
              !strcmp(t.value, "sunset"),
          "plain text");
    CHECK(clipsearch_query_term_parse("inf:x", 1, &t, NULL) == CLIPSEARCH_OK &&
              !strcmp(t.value, "inf:x") && t.weight == 1,
          "'inf' is text, not a weight");
    CHECK(clipsearch_query_term_parse("a dog: running", 1, &t, NULL) == CLIPSEARCH_OK &&
              !strcmp(t.value, "a dog: running"),
          "a colon inside text");
    CHECK(clipsearch_query_term_parse("2:", 1, &t, NULL) == CLIPSEARCH_ERR_INVALID_ARGUMENT,
          "empty query after the weight");
    tu_require_fixture("images/astronaut.jpg");
    snprintf(photo, sizeof photo, "%s", tu_fixture("images/astronaut.jpg"));
    CHECK(clipsearch_query_term_parse(photo, 1, &t, NULL) == CLIPSEARCH_OK &&
              t.kind == CLIPSEARCH_TERM_IMAGE,
          "an existing file is a photo");
}

static void dates(void)
{
    const char *good[][2] = {{"2026", "2026"},
                             {"2026-11", "2026-11"},
                             {"2026-11-29", "2026-11-29"},
                             {"2026-11-29T12", "2026-11-29 12"},
                             {"2026-11-29 12:30", "2026-11-29 12:30"},
                             {"2026-11-29T12:30:05", "2026-11-29 12:30:05"}};
    const char *bad[] = {"", "26", "2026-1", "2026/11/29", "2026-11-29x", "2026-11-29 12:30:05Z",
                         "abcd", "2026-11-29  12"};
    char out[CLIPSEARCH_DATE_SIZE];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK(clipsearch_parse_date(good[i][0], out) == CLIPSEARCH_OK && !strcmp(out, good[i][1]),
              "date '%s'", good[i][0]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(clipsearch_parse_date(bad[i], out) == CLIPSEARCH_ERR_INVALID_ARGUMENT,
              "'%s' must be refused", bad[i]);
}

int main(void)
{
    dates();
    terms();
    return tu_finish("test_query_parse");
}
