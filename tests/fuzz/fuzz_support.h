/*  fuzz_support.h - what the libFuzzer targets share: an invariant check
 *  that aborts (libFuzzer then saves the input as crash-*), and the
 *  libFuzzer entry points' prototypes. See docs/FUZZING.md. */
#ifndef SECPOL_FUZZ_SUPPORT_H_INCLUDED
#define SECPOL_FUZZ_SUPPORT_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/*  Stops the fuzzer with a message when an invariant does not hold. */
#define FUZZ_REQUIRE(cond, ...)                                                                    \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf (stderr, "\n%s:%d: invariant failed: %s\n  ", __FILE__, __LINE__, #cond);      \
            fprintf (stderr, __VA_ARGS__);                                                         \
            fputc ('\n', stderr);                                                                  \
            abort ();                                                                              \
        }                                                                                          \
    } while (0)

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#endif
