! linkorder: linked with MPI's Fortran libraries ahead of libmpisnap, this
! program's Fortran MPI calls would go straight to MPI.  mpisnap_init must
! refuse (MPISNAP_ENOTSUP), naming an entry point, instead of taking
! checkpoints that miss the traffic.
program linkorder
  use mpi
  use mpisnap
  implicit none
  integer :: ierr, rank
  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call mpisnap_init(MPI_COMM_WORLD, MPISNAP_COLLECTIVE, ierr)
  if (ierr /= MPISNAP_ENOTSUP) then
    write (0, '(a,i0)') 'linkorder: FAIL: mpisnap_init returned ', ierr
    call MPI_Abort(MPI_COMM_WORLD, 1, ierr)
  end if
  if (rank == 0) write (*, '(2a)') 'linkorder ok: ', mpisnap_strerror(ierr)
  call MPI_Finalize(ierr)
end program linkorder
