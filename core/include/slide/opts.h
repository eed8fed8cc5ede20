/* Command-line and config-file options from one table: `--name value`, `--name=value`,
 * `--flag`, and `--config FILE` with `name = value` lines (command line overrides the file).
 * Strict: unknown names, bad numbers and out-of-range values are errors naming the option
 * (and file:line for config files). */
#ifndef SLIDE_OPTS_H
#define SLIDE_OPTS_H

#include "slide/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SLIDE_OPT_INT = 0,    /* int */
    SLIDE_OPT_I64 = 1,    /* int64_t */
    SLIDE_OPT_DOUBLE = 2, /* double */
    SLIDE_OPT_FLOAT = 3,  /* float */
    SLIDE_OPT_STR = 4,    /* const char * (points into argv or into the opts' string pool) */
    SLIDE_OPT_FLAG = 5,   /* int 0/1; on the command line `--name` alone sets 1 */
    SLIDE_OPT_CHOICE = 6, /* int index into choices "a|b|c" */
    SLIDE_OPT_U64 = 7     /* uint64_t */
} slide_opt_type;

typedef struct {
    const char *name;    /* long flag without dashes; NULL ends the table */
    int type;            /* slide_opt_type */
    void *ptr;
    double min, max;     /* numeric range (inclusive); ignored when min > max */
    const char *choices; /* SLIDE_OPT_CHOICE: "a|b|c" */
    const char *help;
    int was_set;         /* set by the parser: 1 when given in a file or on the command line */
    char *owned;         /* SLIDE_OPT_STR copied from a config file (freed by slide_opts_free) */
} slide_opt;

/* Parses argv[1..argc) (handling --config FILE first). Positional arguments are errors unless
 * positional/n_positional are given: they receive them (at most max_positional).
 * Returns SLIDE_OK; SLIDE_OPTS_HELP when --help was given (caller prints help, exits 0); else an
 * error (a positive status with err filled). */
#define SLIDE_OPTS_HELP (-1)
int slide_opts_parse(slide_opt *opts, int argc, char **argv, const char **positional,
                     int max_positional, int *n_positional, slide_err *err);
/* Parses a config file of `name = value` lines ('#' comments, blank lines). */
int slide_opts_parse_file(slide_opt *opts, const char *path, slide_err *err);
/* Sets one option from a string value; origin names where it came from (for messages). */
int slide_opts_set(slide_opt *opts, const char *name, const char *value, const char *origin,
                   slide_err *err);
void slide_opts_print_help(FILE *f, const char *usage, const slide_opt *opts);
slide_opt *slide_opts_find(slide_opt *opts, const char *name);
/* Frees strings the parser copied out of config files. */
void slide_opts_free(slide_opt *opts);

/* A program's command line: slide_opts_parse; after --help prints usage and the options to
 * stdout, after an error "prog: message" to stderr. Returns -1 when the program goes on, else its
 * exit status (0 after --help, 2 after an error) with opts freed. */
int slide_opts_cli(slide_opt *opts, int argc, char **argv, const char *prog, const char *usage);

#ifdef __cplusplus
}
#endif
#endif
