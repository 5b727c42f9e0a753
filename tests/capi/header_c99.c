/* lnn/lnn.h is C99: this file is compiled with -std=c99 -Wall -Wextra
 * -pedantic -Werror (tests/CMakeLists.txt) and must stay warning-free. */
#include "lnn/lnn.h"

int lnn_header_c99_check(void);
int lnn_header_c99_check(void) {
  lnn_model_info info;
  lnn_workspace_options w;
  lnn_integrate_options o;
  info.n = 0;
  w.device = LNN_DEVICE_CPU;
  o.integrator = LNN_INTEGRATOR_RK4;
  return info.n + w.device + o.integrator + (int)sizeof(lnn_status);
}
