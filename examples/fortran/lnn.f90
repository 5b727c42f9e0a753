! Fortran bindings of lnn's C API (include/lnn/lnn.h) through ISO_C_BINDING.
!
! Handles are type(c_ptr). Nullable C pointers are OPTIONAL arguments (absent
! = NULL, Fortran 2018 / TS 29113). Arrays are the C arrays with their
! dimensions reversed (Fortran is column-major), so one state is one column:
!   states(2n, B)   tau(n, B)   acc(n, B)   E(B)   grad(2n, B)   H(2n, 2n, B)
!   M(n, n, B)   Cv(n, B)   f(n, B)   y0(2n, B)   out(2n, S, B)
! Every function returns an lnn status (LNN_OK = 0); lnn_last_error() gives
! the message and lnn_status_name(status) the code's name. Coordinates are
! numbered from 0 as in C (lnn_model_embedding's j). C strings come back as
! Fortran strings (lnn_version, lnn_last_error, lnn_status_name,
! lnn_model_embedding) or as type(c_ptr) that lnn_string() converts
! (lnn_model_info%activation). Installed as <prefix>/include/lnn/lnn.f90;
! compile it with your program. See docs/c-api.md.
module lnn
  use, intrinsic :: iso_c_binding
  implicit none
  private

  integer(c_int), parameter, public :: LNN_OK = 0, LNN_ERR_INVALID_ARGUMENT = 1, &
    LNN_ERR_FILE = 2, LNN_ERR_NO_DEVICE = 3, LNN_ERR_WRONG_DEVICE = 4, LNN_ERR_BACKEND = 5, &
    LNN_ERR_OUT_OF_MEMORY = 6, LNN_ERR_INTERNAL = 7
  integer(c_int), parameter, public :: LNN_DEVICE_CPU = 0, LNN_DEVICE_CUDA = 1
  integer(c_int), parameter, public :: LNN_PRECISION_MODEL = 0, LNN_PRECISION_F32 = 1, &
    LNN_PRECISION_F64 = 2
  integer(c_int), parameter, public :: LNN_SOLVE_CHOLESKY = 0, LNN_SOLVE_LU = 1, &
    LNN_SOLVE_DAMPED = 2, LNN_SOLVE_PINV = 3
  integer(c_int), parameter, public :: LNN_SOLVE_STATUS_OK = 0, &
    LNN_SOLVE_STATUS_NOT_POSITIVE_DEFINITE = 1, LNN_SOLVE_STATUS_SINGULAR = 2
  integer(c_int), parameter, public :: LNN_INTEGRATOR_RK4 = 0, LNN_INTEGRATOR_DOPRI5 = 1, &
    LNN_INTEGRATOR_VARIATIONAL = 2
  integer(c_int), parameter, public :: LNN_TRAJECTORY_OK = 0, LNN_TRAJECTORY_STEP_UNDERFLOW = 1, &
    LNN_TRAJECTORY_NON_FINITE = 2, LNN_TRAJECTORY_MAX_STEPS = 3, &
    LNN_TRAJECTORY_NO_CONVERGENCE = 4

  type, bind(c), public :: lnn_model_info
    integer(c_int) :: n, depth, input_width, precision
    integer(c_int64_t) :: parameter_count
    type(c_ptr) :: activation  ! C string; lnn_string() converts it
  end type

  type, bind(c), public :: lnn_workspace_options
    integer(c_int) :: device, precision, solve
    real(c_double) :: damping, rcond
    integer(c_int) :: chunk
  end type

  type, bind(c), public :: lnn_integrate_options
    integer(c_int) :: integrator
    real(c_double) :: dt, rtol, atol, h0, h_min, h_max
    integer(c_int64_t) :: max_steps
    real(c_double) :: newton_tol
    integer(c_int) :: newton_max_iterations
  end type

  public :: lnn_version, lnn_version_numbers, lnn_status_name, lnn_last_error, lnn_string
  public :: lnn_model_load, lnn_model_embedding, lnn_workspace_get
  public :: lnn_model_format_version, lnn_cuda_compiled, lnn_model_free, lnn_model_get_info
  public :: lnn_model_hidden, lnn_workspace_options_default, lnn_workspace_create
  public :: lnn_workspace_free, lnn_accelerations, lnn_lagrangian, lnn_energy
  public :: lnn_lagrangian_gradient, lnn_hessian, lnn_euler_lagrange_terms
  public :: lnn_integrate_options_default, lnn_rollout, lnn_step

  interface
    function c_lnn_version() bind(c, name='lnn_version') result(p)
      import :: c_ptr
      type(c_ptr) :: p
    end function
    function c_lnn_last_error() bind(c, name='lnn_last_error') result(p)
      import :: c_ptr
      type(c_ptr) :: p
    end function
    function c_lnn_status_name(status) bind(c, name='lnn_status_name') result(p)
      import :: c_int, c_ptr
      integer(c_int), value :: status
      type(c_ptr) :: p
    end function
    ! Absent arguments are NULL: ask only for the numbers needed.
    subroutine lnn_version_numbers(major, minor, patch) bind(c)
      import :: c_int
      integer(c_int), intent(out), optional :: major, minor, patch
    end subroutine
    function c_strlen(s) bind(c, name='strlen') result(length)
      import :: c_ptr, c_size_t
      type(c_ptr), value :: s
      integer(c_size_t) :: length
    end function
    integer(c_int) function lnn_model_format_version() bind(c)
      import :: c_int
    end function
    integer(c_int) function lnn_cuda_compiled() bind(c)
      import :: c_int
    end function
    integer(c_int) function c_lnn_model_load(path, model) bind(c, name='lnn_model_load')
      import :: c_int, c_char, c_ptr
      character(kind=c_char), dimension(*), intent(in) :: path
      type(c_ptr), intent(out) :: model
    end function
    subroutine lnn_model_free(model) bind(c)
      import :: c_ptr
      type(c_ptr), value :: model
    end subroutine
    integer(c_int) function lnn_model_get_info(model, info) bind(c)
      import :: c_int, c_ptr, lnn_model_info
      type(c_ptr), value :: model
      type(lnn_model_info), intent(out) :: info
    end function
    integer(c_int) function lnn_model_hidden(model, widths, capacity) bind(c)
      import :: c_int, c_ptr
      type(c_ptr), value :: model
      integer(c_int), intent(out) :: widths(*)
      integer(c_int), value :: capacity
    end function
    integer(c_int) function c_lnn_model_embedding(model, j, name) bind(c, name='lnn_model_embedding')
      import :: c_int, c_ptr
      type(c_ptr), value :: model
      integer(c_int), value :: j
      type(c_ptr), intent(out) :: name
    end function
    integer(c_int) function lnn_workspace_options_default(options) bind(c)
      import :: c_int, lnn_workspace_options
      type(lnn_workspace_options), intent(out) :: options
    end function
    integer(c_int) function lnn_workspace_create(model, max_batch, options, workspace) bind(c)
      import :: c_int, c_int64_t, c_ptr, lnn_workspace_options
      type(c_ptr), value :: model
      integer(c_int64_t), value :: max_batch
      type(lnn_workspace_options), intent(in), optional :: options
      type(c_ptr), intent(out) :: workspace
    end function
    subroutine lnn_workspace_free(workspace) bind(c)
      import :: c_ptr
      type(c_ptr), value :: workspace
    end subroutine
    ! Capacity, device (LNN_DEVICE_*) and evaluation precision (LNN_PRECISION_F32
    ! or _F64) of a workspace; absent outputs are not asked for.
    integer(c_int) function lnn_workspace_get(workspace, max_batch, device, precision) bind(c)
      import :: c_int, c_int64_t, c_ptr
      type(c_ptr), value :: workspace
      integer(c_int64_t), intent(out), optional :: max_batch
      integer(c_int), intent(out), optional :: device, precision
    end function
    integer(c_int) function lnn_accelerations(ws, b, states, tau, acc, solve_status, failures) bind(c)
      import :: c_int, c_int64_t, c_ptr, c_double
      type(c_ptr), value :: ws
      integer(c_int64_t), value :: b
      real(c_double), intent(in) :: states(*)
      real(c_double), intent(in), optional :: tau(*)
      real(c_double), intent(out) :: acc(*)
      integer(c_int), intent(out), optional :: solve_status(*)
      integer(c_int64_t), intent(out), optional :: failures
    end function
    integer(c_int) function lnn_lagrangian(ws, b, states, L) bind(c)
      import :: c_int, c_int64_t, c_ptr, c_double
      type(c_ptr), value :: ws
      integer(c_int64_t), value :: b
      real(c_double), intent(in) :: states(*)
      real(c_double), intent(out) :: L(*)
    end function
    integer(c_int) function lnn_energy(ws, b, states, E) bind(c)
      import :: c_int, c_int64_t, c_ptr, c_double
      type(c_ptr), value :: ws
      integer(c_int64_t), value :: b
      real(c_double), intent(in) :: states(*)
      real(c_double), intent(out) :: E(*)
    end function
    integer(c_int) function lnn_lagrangian_gradient(ws, b, states, L, grad) bind(c)
      import :: c_int, c_int64_t, c_ptr, c_double
      type(c_ptr), value :: ws
      integer(c_int64_t), value :: b
      real(c_double), intent(in) :: states(*)
      real(c_double), intent(out), optional :: L(*)
      real(c_double), intent(out) :: grad(*)
    end function
    integer(c_int) function lnn_hessian(ws, b, states, H) bind(c)
      import :: c_int, c_int64_t, c_ptr, c_double
      type(c_ptr), value :: ws
      integer(c_int64_t), value :: b
      real(c_double), intent(in) :: states(*)
      real(c_double), intent(out) :: H(*)
    end function
    integer(c_int) function lnn_euler_lagrange_terms(ws, b, states, M, Cv, f) bind(c)
      import :: c_int, c_int64_t, c_ptr, c_double
      type(c_ptr), value :: ws
      integer(c_int64_t), value :: b
      real(c_double), intent(in) :: states(*)
      real(c_double), intent(out), optional :: M(*), Cv(*), f(*)
    end function
    integer(c_int) function lnn_integrate_options_default(options) bind(c)
      import :: c_int, lnn_integrate_options
      type(lnn_integrate_options), intent(out) :: options
    end function
    integer(c_int) function lnn_rollout(ws, options, b, t0, y0, s, times, out, status) bind(c)
      import :: c_int, c_int64_t, c_ptr, c_double, lnn_integrate_options
      type(c_ptr), value :: ws
      type(lnn_integrate_options), intent(in), optional :: options
      integer(c_int64_t), value :: b, s
      real(c_double), value :: t0
      real(c_double), intent(in) :: y0(*), times(*)
      real(c_double), intent(out) :: out(*)
      integer(c_int), intent(out), optional :: status(*)
    end function
    integer(c_int) function lnn_step(ws, options, b, t0, t1, states, status) bind(c)
      import :: c_int, c_int64_t, c_ptr, c_double, lnn_integrate_options
      type(c_ptr), value :: ws
      type(lnn_integrate_options), intent(in), optional :: options
      integer(c_int64_t), value :: b
      real(c_double), value :: t0, t1
      real(c_double), intent(inout) :: states(*)
      integer(c_int), intent(out), optional :: status(*)
    end function
  end interface

contains

  ! A NUL-terminated C string as a Fortran string ('' for NULL).
  function lnn_string(p) result(s)
    type(c_ptr), intent(in) :: p
    character(len=:), allocatable :: s
    character(kind=c_char), pointer :: chars(:)
    integer :: i, length
    if (.not. c_associated(p)) then
      s = ''
      return
    end if
    length = int(c_strlen(p))
    call c_f_pointer(p, chars, [length])
    allocate(character(len=length) :: s)
    do i = 1, length
      s(i:i) = chars(i)
    end do
  end function

  function lnn_version() result(s)
    character(len=:), allocatable :: s
    s = lnn_string(c_lnn_version())
  end function

  function lnn_last_error() result(s)
    character(len=:), allocatable :: s
    s = lnn_string(c_lnn_last_error())
  end function

  ! The name of a status code ("LNN_OK", …; "unknown status" otherwise).
  function lnn_status_name(status) result(s)
    integer(c_int), intent(in) :: status
    character(len=:), allocatable :: s
    s = lnn_string(c_lnn_status_name(status))
  end function

  integer(c_int) function lnn_model_load(path, model)
    character(len=*), intent(in) :: path
    type(c_ptr), intent(out) :: model
    lnn_model_load = c_lnn_model_load(trim(path) // c_null_char, model)
  end function

  ! How position q_j (0 <= j < n, numbered as in C) enters the network:
  ! name = "plain" or "angle"; '' when the call fails.
  integer(c_int) function lnn_model_embedding(model, j, name)
    type(c_ptr), intent(in) :: model
    integer(c_int), intent(in) :: j
    character(len=:), allocatable, intent(out) :: name
    type(c_ptr) :: p
    p = c_null_ptr
    lnn_model_embedding = c_lnn_model_embedding(model, j, p)
    name = lnn_string(p)
  end function

end module lnn
