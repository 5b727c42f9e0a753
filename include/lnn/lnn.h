/* lnn's C API: load a learned Lagrangian, evaluate it for batches of states,
 * integrate its dynamics. Pure C99; usable from C++, and from Fortran through
 * ISO_C_BINDING (lnn.f90, installed beside this header). Guide: docs/c-api.md.
 *
 * Handles (MuJoCo-style: a const model, per-batch mutable data):
 *   lnn_model      the network read from a model file. Never changed after
 *                  lnn_model_load; may be shared read-only by any number of
 *                  threads and workspaces. Free it after its workspaces.
 *   lnn_workspace  everything one evaluation needs for up to max_batch states
 *                  on one device, in one precision. Created from a model
 *                  (which must outlive it); used by one thread at a time.
 *
 * Thread-safety: every function may be called from any thread. Functions that
 * take a const lnn_model* only read it. A workspace is not synchronized: use
 * one workspace per thread (or lock around it). lnn_last_error() is per thread.
 *
 * Errors: every function that can fail returns an lnn_status; LNN_OK (0) is
 * success, and then every output has been written. On failure nothing is
 * written to outputs except where noted (handles are set to NULL) and
 * lnn_last_error() describes the problem. Nothing in lnn calls exit() or
 * abort(); no C++ exception crosses this interface. Null pointers, a batch
 * size of 0 or above the workspace's capacity, unknown enum values, non-finite
 * options and pointers on the wrong device are reported, not crashes.
 *
 * Arrays: always double, row-major and sample-major, whatever precision the
 * workspace evaluates in (values are converted to float and back when it
 * evaluates in f32). With n = lnn_model_info.n degrees of freedom and B
 * states:
 *   states  B × 2n    each row [q_1 … q_n, q̇_1 … q̇_n]
 *   tau     B × n     generalized forces
 *   acc     B × n     q̈
 *   L, E    B         Lagrangian, energy E = q̇·∂L/∂q̇ − L
 *   grad    B × 2n    ∂L/∂(q, q̇)
 *   H       B × 2n × 2n   ∂²L/∂(q, q̇)², row-major per state
 *   M       B × n × n ∂²L/∂q̇∂q̇;  Cv  B × n  (∂²L/∂q̇∂q) q̇;  f  B × n  ∂L/∂q
 * Arrays are host memory for an LNN_DEVICE_CPU workspace and device memory
 * (cudaMalloc) for an LNN_DEVICE_CUDA one (builds with CUDA only). A CUDA
 * workspace evaluates on the GPU; the calls are blocking, and rollouts step
 * on the host with each right-hand side evaluated on the GPU. The caller
 * owns every array; lnn keeps no pointer to one after a call returns.
 */
#ifndef LNN_LNN_H
#define LNN_LNN_H

#include <stdint.h>

#if defined(_WIN32)
#define LNN_API
#else
#define LNN_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes ------------------------------------------------------- */
typedef int lnn_status;
enum {
  LNN_OK = 0,
  LNN_ERR_INVALID_ARGUMENT = 1, /* null pointer, bad size, unknown enum, bad option */
  LNN_ERR_FILE = 2,             /* unreadable, malformed or too new a model file */
  LNN_ERR_NO_DEVICE = 3,        /* the requested device is not built in or not present */
  LNN_ERR_WRONG_DEVICE = 4,     /* an array is not in the workspace device's memory */
  LNN_ERR_BACKEND = 5,          /* BLAS / CUDA reported a failure */
  LNN_ERR_OUT_OF_MEMORY = 6,
  LNN_ERR_INTERNAL = 7 /* a bug in lnn; please report the message */
};

/* Name of a status code ("LNN_OK", …; "unknown status" otherwise). Never NULL. */
LNN_API const char* lnn_status_name(lnn_status status);

/* Message of the last failed call on this thread; "" after a successful call.
 * Never NULL. Valid until the next lnn call on this thread. */
LNN_API const char* lnn_last_error(void);

/* ---- versions ----------------------------------------------------------- */
/* The library's version, "MAJOR.MINOR.PATCH" (static string). */
LNN_API const char* lnn_version(void);
/* The same as numbers; each pointer may be NULL. */
LNN_API void lnn_version_numbers(int* major, int* minor, int* patch);
/* The model-file format version this library reads and writes; files of a
 * newer version are refused by lnn_model_load with LNN_ERR_FILE. */
LNN_API int lnn_model_format_version(void);
/* 1 if the CUDA backend is compiled in, else 0. */
LNN_API int lnn_cuda_compiled(void);

/* ---- enumerations (plain ints, for C and Fortran alike) ----------------- */
enum { LNN_DEVICE_CPU = 0, LNN_DEVICE_CUDA = 1 };
enum {
  LNN_PRECISION_MODEL = 0, /* workspaces: evaluate in the file's precision */
  LNN_PRECISION_F32 = 1,
  LNN_PRECISION_F64 = 2
};
enum { /* how q̈ = M⁻¹(…) is solved; see include/lnn/solve.hpp */
       LNN_SOLVE_CHOLESKY = 0,
       LNN_SOLVE_LU = 1,
       LNN_SOLVE_DAMPED = 2,
       LNN_SOLVE_PINV = 3
};
enum { /* per-state outcome of the solve in lnn_accelerations */
       LNN_SOLVE_STATUS_OK = 0,
       LNN_SOLVE_STATUS_NOT_POSITIVE_DEFINITE = 1,
       LNN_SOLVE_STATUS_SINGULAR = 2
};
enum {                           /* time integrators for lnn_rollout / lnn_step */
       LNN_INTEGRATOR_RK4 = 0,   /* classical 4th order, fixed step dt */
       LNN_INTEGRATOR_DOPRI5 = 1, /* Dormand–Prince 5(4), adaptive per trajectory */
       LNN_INTEGRATOR_VARIATIONAL = 2 /* variational midpoint (symplectic), fixed step dt,
                                         Newton with the model's full Hessian per step */
};
enum { /* per-trajectory outcome of lnn_rollout / lnn_step */
       LNN_TRAJECTORY_OK = 0,
       LNN_TRAJECTORY_STEP_UNDERFLOW = 1, /* dopri5 needed a step below h_min */
       LNN_TRAJECTORY_NON_FINITE = 2, /* the state or q̈ became NaN/inf (e.g. a failed solve) */
       LNN_TRAJECTORY_MAX_STEPS = 3,  /* max_steps reached before the last time */
       LNN_TRAJECTORY_NO_CONVERGENCE = 4 /* variational: Newton did not converge */
};

/* ---- the model ---------------------------------------------------------- */
typedef struct lnn_model lnn_model;

/* path: NUL-terminated file name, not NULL. model: not NULL; receives the new
 * model, or NULL on failure. LNN_ERR_FILE for an unreadable or malformed file
 * or one of a newer format version (the message names the file). */
LNN_API lnn_status lnn_model_load(const char* path, lnn_model** model);
/* Frees a model; NULL is allowed and does nothing. Free its workspaces first. */
LNN_API void lnn_model_free(lnn_model* model);

typedef struct lnn_model_info {
  int n;                   /* degrees of freedom; a state has 2n values */
  int depth;               /* hidden layers K (lnn_model_hidden gives their widths) */
  int input_width;         /* width of the embedded network input */
  int precision;           /* LNN_PRECISION_F32 or _F64: the file's tensors */
  int64_t parameter_count; /* number of network parameters */
  const char* activation;  /* "softplus", "tanh", …; static string, never NULL */
} lnn_model_info;

/* model, info: not NULL. */
LNN_API lnn_status lnn_model_get_info(const lnn_model* model, lnn_model_info* info);
/* Writes the K hidden widths to widths[0 … K−1]. model, widths: not NULL;
 * capacity: entries available at widths, must be >= K = info.depth. */
LNN_API lnn_status lnn_model_hidden(const lnn_model* model, int* widths, int capacity);
/* How position q_j (0 <= j < n) enters the network: *name = "plain" or
 * "angle" (static string). model, name: not NULL. */
LNN_API lnn_status lnn_model_embedding(const lnn_model* model, int j, const char** name);

/* ---- workspaces --------------------------------------------------------- */
typedef struct lnn_workspace lnn_workspace;

typedef struct lnn_workspace_options {
  int device;     /* LNN_DEVICE_CPU (default) or LNN_DEVICE_CUDA */
  int precision;  /* LNN_PRECISION_MODEL (default), _F32 or _F64 */
  int solve;      /* LNN_SOLVE_LU (default), _CHOLESKY, _DAMPED, _PINV */
  double damping; /* LNN_SOLVE_DAMPED: added to M's diagonal, >= 0 (1e-6) */
  double rcond;   /* relative singularity cutoff in [0, 1); 0 = n·eps, pinv 10·n·eps (0) */
  int chunk;      /* states evaluated together, >= 1 (1024); bounds memory */
} lnn_workspace_options;

/* Fills *options with the defaults above. options: not NULL. */
LNN_API lnn_status lnn_workspace_options_default(lnn_workspace_options* options);

/* model: not NULL; must outlive the workspace. max_batch: the most states one
 * call may pass, >= 1 (buffers grow to it on first use). options: NULL for the
 * defaults. workspace: not NULL; receives the workspace, or NULL on failure.
 * LNN_ERR_NO_DEVICE when options->device is LNN_DEVICE_CUDA and this build
 * has no CUDA backend or no device is usable. */
LNN_API lnn_status lnn_workspace_create(const lnn_model* model, int64_t max_batch,
                                        const lnn_workspace_options* options,
                                        lnn_workspace** workspace);
/* Frees a workspace; NULL is allowed and does nothing. */
LNN_API void lnn_workspace_free(lnn_workspace* workspace);
/* The workspace's capacity, device and evaluation precision (LNN_PRECISION_F32
 * or _F64). workspace: not NULL; each output may be NULL. */
LNN_API lnn_status lnn_workspace_get(const lnn_workspace* workspace, int64_t* max_batch,
                                     int* device, int* precision);

/* ---- evaluation: B states, 1 <= B <= max_batch (else LNN_ERR_INVALID_ARGUMENT) */

/* q̈ = M⁻¹(∂L/∂q − C q̇ + τ). states: B × 2n, not NULL. tau: B × n, or NULL
 * for none. acc: B × n, not NULL. solve_status: B entries of
 * LNN_SOLVE_STATUS_*, or NULL. A state whose solve fails gets NaN in acc and
 * its status; that is not an error of the call (LNN_OK). failures: NULL, or
 * receives the number of failed solves. */
LNN_API lnn_status lnn_accelerations(lnn_workspace* workspace, int64_t B, const double* states,
                                     const double* tau, double* acc, int* solve_status,
                                     int64_t* failures);
/* L: B, not NULL. states: B × 2n, not NULL. */
LNN_API lnn_status lnn_lagrangian(lnn_workspace* workspace, int64_t B, const double* states,
                                  double* L);
/* E = q̇·∂L/∂q̇ − L. E: B, not NULL. */
LNN_API lnn_status lnn_energy(lnn_workspace* workspace, int64_t B, const double* states, double* E);
/* grad: B × 2n, not NULL. L: B, or NULL. */
LNN_API lnn_status lnn_lagrangian_gradient(lnn_workspace* workspace, int64_t B,
                                           const double* states, double* L, double* grad);
/* H: B × 2n × 2n, not NULL (symmetric; blocks [[L_qq, L_qv], [L_vq, L_vv]]). */
LNN_API lnn_status lnn_hessian(lnn_workspace* workspace, int64_t B, const double* states,
                               double* H);
/* The Euler–Lagrange terms: M (B × n × n), Cv (B × n), f (B × n); each may be
 * NULL to skip it, not all three. */
LNN_API lnn_status lnn_euler_lagrange_terms(lnn_workspace* workspace, int64_t B,
                                            const double* states, double* M, double* Cv, double* f);

/* ---- integration of q̈ = the model's accelerations (unforced, τ = 0) ----
 * The state y = [q, q̇] is integrated in double; the network evaluates in the
 * workspace's precision. Trajectories are independent; each has its own
 * status (a failed trajectory is not an error of the call). */
typedef struct lnn_integrate_options {
  int integrator;    /* LNN_INTEGRATOR_RK4, _DOPRI5 (default) or _VARIATIONAL */
  double dt;         /* rk4, variational: largest step, finite and > 0 (1e-3) */
  double rtol, atol; /* dopri5: tolerances, finite and > 0 (1e-10 each) */
  double h0;         /* dopri5: first step, >= 0; 0 = automatic (0) */
  double h_min;      /* dopri5: smallest step, >= 0; 0 = 16·eps·max(1,|t|) (0) */
  double h_max;      /* dopri5: largest step, >= 0; 0 = unbounded (0) */
  int64_t max_steps; /* per trajectory, >= 0 (100000000) */
  double newton_tol; /* variational: Newton stops at a relative velocity correction
                        below this, >= 0; 0 = 1e-10 (f64 workspace) or 1e-4 (f32) (0) */
  int newton_max_iterations; /* variational: per step, >= 1 (20) */
} lnn_integrate_options;

/* Fills *options with the defaults above. options: not NULL. */
LNN_API lnn_status lnn_integrate_options_default(lnn_integrate_options* options);

/* Integrates B trajectories from t0 and writes the state of trajectory b at
 * times[s] to out[(b·S + s)·2n …]. options: NULL for the defaults. y0: B × 2n,
 * not NULL. times: S >= 1 finite values, ascending and >= t0, not NULL.
 * out: B × S × 2n, not NULL (after a failure, that trajectory's later
 * outputs are NaN). trajectory_status: B entries of LNN_TRAJECTORY_*, or NULL.
 * 1 <= B <= max_batch. */
LNN_API lnn_status lnn_rollout(lnn_workspace* workspace, const lnn_integrate_options* options,
                               int64_t B, double t0, const double* y0, int64_t S,
                               const double* times, double* out, int* trajectory_status);
/* Advances B states in place from t0 to t1 >= t0 (both finite). states:
 * B × 2n, not NULL, overwritten (NaN for a failed trajectory).
 * trajectory_status: B entries, or NULL. */
LNN_API lnn_status lnn_step(lnn_workspace* workspace, const lnn_integrate_options* options,
                            int64_t B, double t0, double t1, double* states,
                            int* trajectory_status);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LNN_LNN_H */
