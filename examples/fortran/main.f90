! A Fortran program using lnn through the ISO_C_BINDING module in lnn.f90:
! load a model file, evaluate accelerations and energies for a batch of 3
! states, integrate them for 0.1 time units with RK4. Prints the same
! machine-checkable lines as examples/c (b and k count from 0):
!   acc <b> <k> <value>   energy <b> <value>   final <b> <k> <value>   status <b> <s>
! Usage: lnn_fortran_example <model.safetensors>. Exit status 1 on any lnn error.
program lnn_fortran_example
  use, intrinsic :: iso_c_binding
  use, intrinsic :: iso_fortran_env, only: error_unit
  use lnn
  implicit none
  integer(c_int64_t), parameter :: B = 3, S = 2
  type(c_ptr) :: model = c_null_ptr, ws = c_null_ptr
  type(lnn_model_info) :: info
  type(lnn_workspace_options) :: wopt
  type(lnn_integrate_options) :: iopt
  real(c_double), allocatable :: states(:, :), acc(:, :), energy(:), out(:, :, :)
  real(c_double) :: times(S) = [0.05d0, 0.1d0]
  integer(c_int) :: traj_status(B)
  integer :: n, bi, k
  character(len=4096) :: path

  if (command_argument_count() /= 1) then
    write (*, '(a)') 'usage: lnn_fortran_example <model.safetensors>'
    stop 2
  end if
  call get_command_argument(1, path)
  write (*, '(a, a, a, i0)') '# lnn Fortran example, lnn ', lnn_version(), ', model format ', &
    lnn_model_format_version()

  call check(lnn_model_load(trim(path), model), 'lnn_model_load')
  call check(lnn_model_get_info(model, info), 'lnn_model_get_info')
  write (*, '(a, i0, a, i0, a, a)') '# n = ', info%n, ', ', info%depth, ' hidden layers, ', &
    lnn_string(info%activation)
  n = info%n

  call check(lnn_workspace_options_default(wopt), 'lnn_workspace_options_default')
  wopt%solve = LNN_SOLVE_LU
  call check(lnn_workspace_create(model, B, wopt, ws), 'lnn_workspace_create')

  ! One state per column: states(1:n, b) = q, states(n+1:2n, b) = q̇.
  allocate (states(2 * n, B), acc(n, B), energy(B), out(2 * n, S, B))
  do bi = 0, int(B) - 1
    do k = 0, n - 1
      states(k + 1, bi + 1) = 0.25d0 * (bi + 1) - 0.125d0 * k
      states(n + k + 1, bi + 1) = 0.5d0 - 0.25d0 * k + 0.125d0 * bi
    end do
  end do

  call check(lnn_accelerations(ws, B, states, acc=acc), 'lnn_accelerations')
  call check(lnn_energy(ws, B, states, energy), 'lnn_energy')
  do bi = 1, int(B)
    do k = 1, n
      write (*, '(a, i0, 1x, i0, 1x, es25.17e3)') 'acc ', bi - 1, k - 1, acc(k, bi)
    end do
    write (*, '(a, i0, 1x, es25.17e3)') 'energy ', bi - 1, energy(bi)
  end do

  call check(lnn_integrate_options_default(iopt), 'lnn_integrate_options_default')
  iopt%integrator = LNN_INTEGRATOR_RK4
  iopt%dt = 0.01d0
  call check(lnn_rollout(ws, iopt, B, 0d0, states, S, times, out, traj_status), 'lnn_rollout')
  do bi = 1, int(B)
    do k = 1, 2 * n
      write (*, '(a, i0, 1x, i0, 1x, es25.17e3)') 'final ', bi - 1, k - 1, out(k, S, bi)
    end do
    write (*, '(a, i0, 1x, i0)') 'status ', bi - 1, traj_status(bi)
  end do

  call lnn_workspace_free(ws)  ! workspaces before their model
  call lnn_model_free(model)

contains

  subroutine check(status, what)
    integer(c_int), intent(in) :: status
    character(len=*), intent(in) :: what
    if (status /= LNN_OK) then
      write (error_unit, '(a, a, a, a, a, a)') 'lnn_fortran_example: ', what, ' failed (', &
        lnn_status_name(status), '): ', lnn_last_error()
      call lnn_workspace_free(ws)
      call lnn_model_free(model)
      stop 1
    end if
  end subroutine

end program
