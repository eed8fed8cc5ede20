/* libFuzzer harness for the XC text parser (slide_data_parse): any input must give either a
 * data set meeting the CSR invariants or a classified error with a line number. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len) {
    slide_data ds;
    slide_err err;
    int rc = slide_data_parse(&ds, (const char *)buf, len, "fuzz", &err);
    if (rc) {
        fuzz_check_err(rc, &err);
        /* Text errors name the line: 1 .. lines in the input + 1 (end of file). */
        long lines = 1;
        for (size_t i = 0; i < len; i++) lines += buf[i] == '\n';
        FUZZ_REQUIRE(err.line <= lines + 1);
        FUZZ_REQUIRE(rc == SLIDE_ENOMEM || err.line >= 1);
        FUZZ_REQUIRE(ds.row_ptr == NULL && ds.feat == NULL && ds.lab == NULL);
        return 0;
    }
    fuzz_check_data(&ds);
    slide_data_normalize(&ds);
    for (int64_t j = 0; j < ds.nnz; j++) FUZZ_REQUIRE(isfinite(ds.val[j]));
    slide_data_free(&ds);
    return 0;
}
