! mpisnap for Fortran: `use mpisnap`.  The C API (include/mpisnap.h) in
! the style of mpi_f08: subroutines with an optional last ierror (0 on
! success, else a negative MPISNAP_E* code; without ierror an error stops
! the job with a message), logical functions where C returns a truth value.
!
! Fortran MPI calls need nothing from this module: libmpisnap defines the
! Fortran MPI entry points itself (src/pmpi/fortran.c), for mpif.h,
! `use mpi` and `use mpi_f08` alike.
module mpisnap
  use, intrinsic :: iso_c_binding
  use, intrinsic :: iso_fortran_env, only: int32, int64, real32, real64, error_unit
  use mpi_f08, only: MPI_Comm
  implicit none
  private

  public :: mpisnap_init, mpisnap_protect, mpisnap_restarting, mpisnap_restore, &
            mpisnap_point, mpisnap_request, mpisnap_should_exit, mpisnap_finalize, &
            mpisnap_last_committed, mpisnap_strerror

  integer, parameter, public :: MPISNAP_COLLECTIVE = 0, MPISNAP_INDEPENDENT = 1
  integer, parameter, public :: MPISNAP_EXIT_CHECKPOINTED = 85
  integer, parameter, public :: MPISNAP_OK = 0, MPISNAP_EINVAL = -1, &
       MPISNAP_ENOMEM = -2, MPISNAP_ESTATE = -3, MPISNAP_EPROTO = -4, &
       MPISNAP_EIO = -5, MPISNAP_EFORMAT = -6, MPISNAP_ECORRUPT = -7, &
       MPISNAP_ENOENT = -8, MPISNAP_EMISMATCH = -9, MPISNAP_EMPI = -10, &
       MPISNAP_EHDF5 = -11, MPISNAP_ENOTSUP = -12, MPISNAP_ECONFIG = -13

  ! Element kinds for mpisnap_f_protect (src/ckpt/fapi.c).
  integer(c_int), parameter :: K_INTEGER = 1, K_REAL = 2, K_COMPLEX = 3, K_LOGICAL = 4

  !> call mpisnap_init(comm, mode [, ierror]): comm is MPI_COMM_WORLD, as an
  !> integer handle (mpif.h, use mpi) or a type(MPI_Comm) (use mpi_f08).
  interface mpisnap_init
    module procedure init_int, init_f08
  end interface mpisnap_init

  !> call mpisnap_protect(name, var [, ierror]): a scalar or contiguous
  !> array, any rank, of integer(int32/int64), real(real32/real64),
  !> complex(real32/real64) or logical.
  interface mpisnap_protect
    module procedure protect_i4, protect_i8, protect_r4, protect_r8, &
                     protect_c4, protect_c8, protect_l
  end interface mpisnap_protect

  interface
    integer(c_int) function c_init(comm, mode) bind(C, name='mpisnap_f_init')
      import :: c_int
      integer(c_int), value :: comm, mode
    end function c_init
    integer(c_int) function c_protect(name, ptr, count, kind, bytes) &
         bind(C, name='mpisnap_f_protect')
      import :: c_int, c_char, c_ptr, c_int64_t
      character(kind=c_char), dimension(*), intent(in) :: name
      type(c_ptr), value :: ptr
      integer(c_int64_t), value :: count
      integer(c_int), value :: kind, bytes
    end function c_protect
    subroutine c_abort(what, code) bind(C, name='mpisnap_f_abort')
      import :: c_int, c_char
      character(kind=c_char), dimension(*), intent(in) :: what
      integer(c_int), value :: code
    end subroutine c_abort
    integer(c_int) function c_restarting() bind(C, name='mpisnap_restarting')
      import :: c_int
    end function c_restarting
    integer(c_int) function c_restore() bind(C, name='mpisnap_restore')
      import :: c_int
    end function c_restore
    integer(c_int) function c_point() bind(C, name='mpisnap_point')
      import :: c_int
    end function c_point
    integer(c_int) function c_request() bind(C, name='mpisnap_request')
      import :: c_int
    end function c_request
    integer(c_int) function c_should_exit() bind(C, name='mpisnap_should_exit')
      import :: c_int
    end function c_should_exit
    integer(c_int) function c_finalize() bind(C, name='mpisnap_finalize')
      import :: c_int
    end function c_finalize
    integer(c_int) function c_last_committed() bind(C, name='mpisnap_last_committed')
      import :: c_int
    end function c_last_committed
    type(c_ptr) function c_strerror(code) bind(C, name='mpisnap_strerror')
      import :: c_int, c_ptr
      integer(c_int), value :: code
    end function c_strerror
  end interface

contains

  ! rc into ierror, or, without ierror, stop the job on an error.
  subroutine finish(what, rc, ierror)
    character(len=*), intent(in) :: what
    integer(c_int), intent(in) :: rc
    integer, optional, intent(out) :: ierror
    if (present(ierror)) then
      ierror = int(rc)
    else if (rc < 0) then
      call c_abort(what // c_null_char, rc)
    end if
  end subroutine finish

  subroutine init_int(comm, mode, ierror)
    integer, intent(in) :: comm, mode
    integer, optional, intent(out) :: ierror
    call finish('mpisnap_init', c_init(int(comm, c_int), int(mode, c_int)), ierror)
  end subroutine init_int

  subroutine init_f08(comm, mode, ierror)
    type(MPI_Comm), intent(in) :: comm
    integer, intent(in) :: mode
    integer, optional, intent(out) :: ierror
    call finish('mpisnap_init', c_init(int(comm%MPI_VAL, c_int), int(mode, c_int)), ierror)
  end subroutine init_f08

  ! The common part of every mpisnap_protect: address, contiguity, count.
  subroutine protect_any(name, addr, contiguous, n, kind, bits, ierror)
    character(len=*), intent(in) :: name
    type(c_ptr), intent(in) :: addr
    logical, intent(in) :: contiguous
    integer(int64), intent(in) :: n
    integer(c_int), intent(in) :: kind
    integer, intent(in) :: bits
    integer, optional, intent(out) :: ierror
    integer(c_int) :: rc
    if (.not. c_associated(addr)) then
      write (error_unit, '(3a)') "mpisnap: error: mpisnap_protect('", name, &
           "'): the variable has no storage (an allocatable not yet allocated, " // &
           "or a disassociated pointer); protect it after allocating it"
      rc = MPISNAP_EINVAL
    else if (.not. contiguous) then
      write (error_unit, '(3a)') "mpisnap: error: mpisnap_protect('", name, &
           "'): the array is not contiguous (a section with a stride?); " // &
           "protect the whole array or a contiguous copy"
      rc = MPISNAP_EINVAL
    else
      rc = c_protect(trim(name) // c_null_char, addr, int(n, c_int64_t), kind, &
                     int(bits / 8, c_int))
    end if
    call finish('mpisnap_protect', rc, ierror)
  end subroutine protect_any

  ! One specific per type and kind (a generic needs them), each only
  ! naming its kind and element size; the rest is shared (protect_raw).
  subroutine protect_raw(name, var, kind, bits, ierror)
    character(len=*), intent(in) :: name
    type(*), dimension(..), intent(in), target :: var
    integer(c_int), intent(in) :: kind
    integer, intent(in) :: bits
    integer, optional, intent(out) :: ierror
    type(c_ptr) :: a
    a = c_loc(var)
    if (c_associated(a)) then
      call protect_any(name, a, is_contiguous(var), size(var, kind=int64), kind, &
                       bits, ierror)
    else
      call protect_any(name, a, .false., 0_int64, kind, 0, ierror)
    end if
  end subroutine protect_raw

  subroutine protect_i4(name, var, ierror)
    character(len=*), intent(in) :: name
    integer(int32), dimension(..), intent(in), target :: var
    integer, optional, intent(out) :: ierror
    call protect_raw(name, var, K_INTEGER, storage_size(var), ierror)
  end subroutine protect_i4

  subroutine protect_i8(name, var, ierror)
    character(len=*), intent(in) :: name
    integer(int64), dimension(..), intent(in), target :: var
    integer, optional, intent(out) :: ierror
    call protect_raw(name, var, K_INTEGER, storage_size(var), ierror)
  end subroutine protect_i8

  subroutine protect_r4(name, var, ierror)
    character(len=*), intent(in) :: name
    real(real32), dimension(..), intent(in), target :: var
    integer, optional, intent(out) :: ierror
    call protect_raw(name, var, K_REAL, storage_size(var), ierror)
  end subroutine protect_r4

  subroutine protect_r8(name, var, ierror)
    character(len=*), intent(in) :: name
    real(real64), dimension(..), intent(in), target :: var
    integer, optional, intent(out) :: ierror
    call protect_raw(name, var, K_REAL, storage_size(var), ierror)
  end subroutine protect_r8

  subroutine protect_c4(name, var, ierror)
    character(len=*), intent(in) :: name
    complex(real32), dimension(..), intent(in), target :: var
    integer, optional, intent(out) :: ierror
    call protect_raw(name, var, K_COMPLEX, storage_size(var), ierror)
  end subroutine protect_c4

  subroutine protect_c8(name, var, ierror)
    character(len=*), intent(in) :: name
    complex(real64), dimension(..), intent(in), target :: var
    integer, optional, intent(out) :: ierror
    call protect_raw(name, var, K_COMPLEX, storage_size(var), ierror)
  end subroutine protect_c8

  subroutine protect_l(name, var, ierror)
    character(len=*), intent(in) :: name
    logical, dimension(..), intent(in), target :: var
    integer, optional, intent(out) :: ierror
    call protect_raw(name, var, K_LOGICAL, storage_size(var), ierror)
  end subroutine protect_l

  !> .true. when this run restores from a checkpoint.
  logical function mpisnap_restarting()
    mpisnap_restarting = c_restarting() > 0
  end function mpisnap_restarting

  !> Fill every protected variable from the checkpoint; id: its id.
  subroutine mpisnap_restore(id, ierror)
    integer, optional, intent(out) :: id, ierror
    integer(c_int) :: rc
    rc = c_restore()
    if (present(id)) id = max(int(rc), 0)
    call finish('mpisnap_restore', min(rc, 0_c_int), ierror)
  end subroutine mpisnap_restore

  !> A safe point; recorded: whether this rank recorded its state here.
  subroutine mpisnap_point(recorded, ierror)
    logical, optional, intent(out) :: recorded
    integer, optional, intent(out) :: ierror
    integer(c_int) :: rc
    rc = c_point()
    if (present(recorded)) recorded = rc > 0
    call finish('mpisnap_point', min(rc, 0_c_int), ierror)
  end subroutine mpisnap_point

  !> Ask for a checkpoint (any rank, any time).
  subroutine mpisnap_request(ierror)
    integer, optional, intent(out) :: ierror
    call finish('mpisnap_request', c_request(), ierror)
  end subroutine mpisnap_request

  !> .true. once a checkpoint-and-exit request has committed.
  logical function mpisnap_should_exit()
    mpisnap_should_exit = c_should_exit() > 0
  end function mpisnap_should_exit

  subroutine mpisnap_finalize(ierror)
    integer, optional, intent(out) :: ierror
    call finish('mpisnap_finalize', c_finalize(), ierror)
  end subroutine mpisnap_finalize

  !> Newest committed checkpoint id this rank knows of; 0 if none.
  integer function mpisnap_last_committed()
    mpisnap_last_committed = int(c_last_committed())
  end function mpisnap_last_committed

  !> The message for an error code.
  function mpisnap_strerror(code) result(msg)
    integer, intent(in) :: code
    character(len=:), allocatable :: msg
    character(kind=c_char), dimension(:), pointer :: p
    integer :: n
    call c_f_pointer(c_strerror(int(code, c_int)), p, [1024])
    n = 0
    do while (p(n + 1) /= c_null_char)
      n = n + 1
    end do
    allocate (character(len=n) :: msg)
    msg = transfer(p(1:n), msg)
  end function mpisnap_strerror

end module mpisnap
