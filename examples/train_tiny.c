/* The C API from an installed copy: synthetic data, a SLIDE network, a few batches, P@1.
 * cc train_tiny.c $(pkg-config --cflags --libs slide) -o train_tiny */
#include <slide/network.h>
#include <slide/synth.h>
#include <stdio.h>

int main(void) {
    slide_err err;
    slide_data train, test;
    slide_synth_params sp = slide_synth_params_default();
    sp.preset = "tiny";
    if (slide_synth_generate(&sp, &train, &test, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
    slide_net_params np = slide_net_params_default();
    slide_net_params_shape(&np, train.d, train.l);
    np.threads = 1;
    slide_net *net;
    if (slide_net_create(&net, &np, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
    int64_t ids[128];
    slide_train_stats st = {0};
    for (int b = 0; b < 40; b++) {
        for (int i = 0; i < 128; i++) ids[i] = (b * 128 + i) % train.n;
        if (slide_net_train_batch(net, &train, ids, 128, &st, &err))
            return fprintf(stderr, "%s\n", err.msg), 1;
    }
    slide_eval_result ev;
    if (slide_net_evaluate(net, &test, NULL, test.n, 0, &ev, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
    printf("P@1 %.4f on %lld test points after %lld steps\n", ev.p_at[1], (long long)ev.n_eval,
           (long long)slide_net_step(net));
    slide_net_destroy(net);
    slide_data_free(&train);
    slide_data_free(&test);
    return ev.n_eval > 0 ? 0 : 1;
}
