/* A C program using lnn through its C API (lnn/lnn.h): load a model file,
 * evaluate accelerations and energies for a batch of 3 states, integrate
 * them for 0.1 time units with RK4. Prints machine-checkable lines:
 *   acc <b> <k> <q̈_k of state b>     energy <b> <E>
 *   final <b> <k> <y_k at t = 0.1>   status <b> <trajectory status>
 * Usage: lnn_c_example <model.safetensors>. Exit status 1 on any lnn error.
 * Build: see docs/c-api.md (CMake: find_package(lnn); make: pkg-config lnn). */
#include <stdio.h>
#include <stdlib.h>

#include "lnn/lnn.h"

#define B 3 /* states in the batch */
#define S 2 /* output times of the rollout */

/* Prints the failed call and lnn's message; returns 1 for main. */
static int report(const char* call, lnn_status status) {
  fprintf(stderr, "lnn_c_example: %s failed: %s: %s\n", call, lnn_status_name(status),
          lnn_last_error());
  return 1;
}

int main(int argc, char** argv) {
  lnn_model* model = NULL;
  lnn_workspace* ws = NULL;
  lnn_model_info info;
  lnn_workspace_options wopt;
  lnn_integrate_options iopt;
  double *states = NULL, *acc = NULL, *energy = NULL, *out = NULL;
  const double times[S] = {0.05, 0.1};
  int solve_status[B], traj_status[B];
  lnn_status st;
  int rc = 1, b, k, n, w;

  if (argc != 2) {
    fprintf(stderr, "usage: %s <model.safetensors>\n", argv[0]);
    return 2;
  }
  printf("# lnn C example, lnn %s, model format %d\n", lnn_version(), lnn_model_format_version());
  if ((st = lnn_model_load(argv[1], &model)) != LNN_OK) return report("lnn_model_load", st);
  if ((st = lnn_model_get_info(model, &info)) != LNN_OK) {
    rc = report("lnn_model_get_info", st);
    goto done;
  }
  printf("# n = %d, %d hidden layers, %s, %lld parameters\n", info.n, info.depth, info.activation,
         (long long)info.parameter_count);
  n = info.n;
  w = 2 * n;

  lnn_workspace_options_default(&wopt);
  wopt.solve = LNN_SOLVE_LU; /* any nonsingular M, not only positive definite */
  if ((st = lnn_workspace_create(model, B, &wopt, &ws)) != LNN_OK) {
    rc = report("lnn_workspace_create", st);
    goto done;
  }

  states = malloc(sizeof(double) * B * w);  /* B × 2n: [q, q̇] per row */
  acc = malloc(sizeof(double) * B * n);     /* B × n */
  energy = malloc(sizeof(double) * B);      /* B */
  out = malloc(sizeof(double) * B * S * w); /* B × S × 2n */
  if (!states || !acc || !energy || !out) {
    fprintf(stderr, "lnn_c_example: out of memory\n");
    goto done;
  }
  for (b = 0; b < B; ++b) {
    for (k = 0; k < n; ++k) {
      states[b * w + k] = 0.25 * (b + 1) - 0.125 * k;     /* q_k */
      states[b * w + n + k] = 0.5 - 0.25 * k + 0.125 * b; /* q̇_k */
    }
  }

  if ((st = lnn_accelerations(ws, B, states, NULL, acc, solve_status, NULL)) != LNN_OK) {
    rc = report("lnn_accelerations", st);
    goto done;
  }
  if ((st = lnn_energy(ws, B, states, energy)) != LNN_OK) {
    rc = report("lnn_energy", st);
    goto done;
  }
  for (b = 0; b < B; ++b) {
    for (k = 0; k < n; ++k) printf("acc %d %d %.17g\n", b, k, acc[b * n + k]);
    printf("energy %d %.17g\n", b, energy[b]);
  }

  lnn_integrate_options_default(&iopt);
  iopt.integrator = LNN_INTEGRATOR_RK4;
  iopt.dt = 0.01;
  if ((st = lnn_rollout(ws, &iopt, B, 0.0, states, S, times, out, traj_status)) != LNN_OK) {
    rc = report("lnn_rollout", st);
    goto done;
  }
  for (b = 0; b < B; ++b) {
    for (k = 0; k < w; ++k) printf("final %d %d %.17g\n", b, k, out[(b * S + S - 1) * w + k]);
    printf("status %d %d\n", b, traj_status[b]);
  }
  rc = 0;

done:
  free(states);
  free(acc);
  free(energy);
  free(out);
  lnn_workspace_free(ws); /* workspaces before their model; NULL is fine */
  lnn_model_free(model);
  return rc;
}
