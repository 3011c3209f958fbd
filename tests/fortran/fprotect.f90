! fprotect: mpisnap_protect from Fortran accepts scalars and contiguous
! arrays of every supported kind and rank, and refuses a non-contiguous
! section and an unallocated allocatable with an error (not a crash);
! mpisnap_init takes an integer handle here (use mpi).
program fprotect
  use, intrinsic :: iso_fortran_env, only: int32, int64, real32, real64
  use mpi
  use mpisnap
  implicit none
  integer :: ierr, rank
  integer(int32) :: i4(3)
  integer(int64) :: i8
  real(real32) :: r4(2, 2)
  real(real64) :: r8(2, 3, 4)
  complex(real32) :: c4
  complex(real64) :: c8(5)
  logical :: l(4)
  real(real64), allocatable :: later(:, :)
  logical :: rec

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call mpisnap_init(MPI_COMM_WORLD, MPISNAP_COLLECTIVE, ierr)
  call expect(ierr, 0, 'mpisnap_init')
  call mpisnap_protect('i4', i4, ierr); call expect(ierr, 0, 'int32 array')
  call mpisnap_protect('i8', i8, ierr); call expect(ierr, 0, 'int64 scalar')
  call mpisnap_protect('r4', r4, ierr); call expect(ierr, 0, 'real32 rank 2')
  call mpisnap_protect('r8', r8, ierr); call expect(ierr, 0, 'real64 rank 3')
  call mpisnap_protect('c4', c4, ierr); call expect(ierr, 0, 'complex32 scalar')
  call mpisnap_protect('c8', c8, ierr); call expect(ierr, 0, 'complex64 array')
  call mpisnap_protect('l', l, ierr); call expect(ierr, 0, 'logical array')
  call mpisnap_protect('strided', r8(1, :, :), ierr)
  call expect(ierr, MPISNAP_EINVAL, 'a non-contiguous section')
  call mpisnap_protect('later', later, ierr)
  call expect(ierr, MPISNAP_EINVAL, 'an unallocated allocatable')
  allocate (later(3, 3))
  call mpisnap_protect('later', later, ierr); call expect(ierr, 0, 'allocated')
  call mpisnap_point(rec, ierr); call expect(ierr, 0, 'mpisnap_point')
  if (mpisnap_restarting()) call expect(1, 0, 'mpisnap_restarting on a fresh start')
  if (mpisnap_should_exit()) call expect(1, 0, 'mpisnap_should_exit on a fresh start')
  call expect(mpisnap_last_committed(), 0, 'mpisnap_last_committed on a fresh start')
  call mpisnap_finalize(ierr); call expect(ierr, 0, 'mpisnap_finalize')
  if (rank == 0) write (*, '(a)') 'fprotect ok'
  call MPI_Finalize(ierr)
contains
  subroutine expect(got, want, what)
    integer, intent(in) :: got, want
    character(len=*), intent(in) :: what
    integer :: e
    if (got /= want) then
      write (0, '(3a,i0,a,i0)') 'fprotect: FAIL: ', what, ': ierror ', got, ', expected ', want
      call MPI_Abort(MPI_COMM_WORLD, 1, e)
    end if
  end subroutine expect
end program fprotect
