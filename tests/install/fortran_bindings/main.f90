! Checks lnn.f90's bindings of lnn_status_name, lnn_version_numbers,
! lnn_model_embedding and lnn_workspace_get against what the C API documents
! (include/lnn/lnn.h). The model must have n = 2 and the embedding
! angle,plain (install_test.sh makes it with `lnn init`). Prints one line per
! check; exit status 1 if any fails.
! Usage: lnn_fortran_bindings <model.safetensors>
program lnn_fortran_bindings
  use, intrinsic :: iso_c_binding
  use lnn
  implicit none
  type(c_ptr) :: model = c_null_ptr, ws = c_null_ptr
  type(lnn_workspace_options) :: wopt
  integer(c_int) :: status, major, minor, patch, only_minor, device, precision
  integer(c_int64_t) :: max_batch
  character(len=:), allocatable :: name
  character(len=64) :: expected
  character(len=4096) :: path
  logical :: ok = .true.
  ! Each call's status is kept first: a function may not change an argument
  ! used elsewhere in the same expression, nor need it run before lnn_last_error.

  if (command_argument_count() /= 1) then
    write (*, '(a)') 'usage: lnn_fortran_bindings <model.safetensors>'
    stop 2
  end if
  call get_command_argument(1, path)

  call expect(lnn_status_name(LNN_OK) == 'LNN_OK', 'lnn_status_name(LNN_OK)')
  call expect(lnn_status_name(LNN_ERR_FILE) == 'LNN_ERR_FILE', 'lnn_status_name(LNN_ERR_FILE)')
  call expect(lnn_status_name(99_c_int) == 'unknown status', 'lnn_status_name(99)')

  major = -1
  minor = -1
  patch = -1
  call lnn_version_numbers(major, minor, patch)
  write (expected, '(i0, a, i0, a, i0)') major, '.', minor, '.', patch
  call expect(lnn_version() == trim(expected), 'lnn_version_numbers = lnn_version() ' // &
    lnn_version() // ' (' // trim(expected) // ')')
  only_minor = -1
  call lnn_version_numbers(minor=only_minor)  ! major and patch are NULL
  call expect(only_minor == minor, 'lnn_version_numbers(minor=…) alone')

  status = lnn_model_load(trim(path), model)
  call expect(status == LNN_OK, 'lnn_model_load: ' // lnn_last_error())
  if (.not. ok) stop 1
  status = lnn_model_embedding(model, 0_c_int, name)
  call expect(status == LNN_OK .and. name == 'angle', 'lnn_model_embedding(model, 0) = angle: ' // name)
  status = lnn_model_embedding(model, 1_c_int, name)
  call expect(status == LNN_OK .and. name == 'plain', 'lnn_model_embedding(model, 1) = plain: ' // name)
  status = lnn_model_embedding(model, 2_c_int, name)
  call expect(status == LNN_ERR_INVALID_ARGUMENT .and. name == '', &
    'lnn_model_embedding(model, 2) is refused: ' // lnn_last_error())

  call expect(lnn_workspace_options_default(wopt) == LNN_OK, 'lnn_workspace_options_default')
  wopt%precision = LNN_PRECISION_F32
  status = lnn_workspace_create(model, 7_c_int64_t, wopt, ws)
  call expect(status == LNN_OK, 'lnn_workspace_create: ' // lnn_last_error())
  if (.not. ok) stop 1
  max_batch = -1
  device = -1
  precision = -1
  status = lnn_workspace_get(ws, max_batch, device, precision)
  call expect(status == LNN_OK .and. max_batch == 7 .and. device == LNN_DEVICE_CPU .and. &
    precision == LNN_PRECISION_F32, 'lnn_workspace_get: max_batch 7, CPU, f32')
  precision = -1
  status = lnn_workspace_get(ws, precision=precision)  ! max_batch and device are NULL
  call expect(status == LNN_OK .and. precision == LNN_PRECISION_F32, &
    'lnn_workspace_get(ws, precision=…) alone')
  status = lnn_workspace_get(c_null_ptr)
  call expect(status == LNN_ERR_INVALID_ARGUMENT, 'lnn_workspace_get(NULL) is refused: ' // &
    lnn_last_error())

  call lnn_workspace_free(ws)
  call lnn_model_free(model)
  if (.not. ok) stop 1
  write (*, '(a)') 'all bindings agree with the C API'

contains

  subroutine expect(condition, what)
    logical, intent(in) :: condition
    character(len=*), intent(in) :: what
    if (condition) then
      write (*, '(a, a)') 'ok   ', what
    else
      write (*, '(a, a)') 'FAIL ', what
      ok = .false.
    end if
  end subroutine

end program
