! heat3d: the explicit 3-D heat equation, checkpointed with mpisnap in
! collective mode; the Fortran application (use mpi_f08, use mpisnap).
!
! The global n x n x n grid is split over a 3-D Cartesian communicator;
! every iteration each rank exchanges its six faces with MPI_Isend/
! MPI_Irecv/MPI_Waitall (packed into contiguous buffers), updates its
! block, and every K iterations the residual (the largest change of a
! cell) is combined with MPI_Allreduce(MPI_MAX).
!
! Every cell is computed with the same expression in the same order
! whatever the decomposition, the residual is a maximum and the checksum
! an integer sum of the cells' bits, so the answer printed as
! "ANSWER <hex>" is the same bit for bit on any number of ranks and after
! any number of restarts.
program heat3d
  use, intrinsic :: iso_c_binding, only: c_int
  use, intrinsic :: iso_fortran_env, only: int64, real64, output_unit, error_unit
  use mpi_f08
  use mpisnap
  implicit none

  interface
    integer(c_int) function usleep(usec) bind(C, name='usleep')
      import :: c_int
      integer(c_int), value :: usec
    end function usleep
  end interface

  real(real64), parameter :: alpha = 0.125_real64   ! stable up to 1/6
  real(real64), parameter :: t_hot = 1.0_real64, t_cold = 0.0_real64
  integer(int64), parameter :: prime = 2147483647_int64

  integer :: n = 40, iters = 400, every = 50, nap = 0
  logical :: verbose = .false.
  type(MPI_Comm) :: cart
  type(MPI_Request) :: req(12)
  integer :: rank, nprocs, dims(3), coords(3), nb(2, 3), lo(3), hi(3), d, s, f, id
  integer :: i, j, k, face_max
  real(real64), allocatable :: u(:, :, :), v(:, :, :)
  ! Written and read by MPI while requests are pending (MPI 3.1, 17.1.17).
  real(real64), allocatable, asynchronous :: sbuf(:, :), rbuf(:, :)
  integer(int64) :: it, mine, total
  real(real64) :: residual, local
  logical :: stopped

  call MPI_Init()
  call mpisnap_init(MPI_COMM_WORLD, MPISNAP_COLLECTIVE)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank)
  call MPI_Comm_size(MPI_COMM_WORLD, nprocs)
  call options()

  dims = 0
  call MPI_Dims_create(nprocs, 3, dims)
  call MPI_Cart_create(MPI_COMM_WORLD, 3, dims, [.false., .false., .false.], .false., cart)
  call MPI_Cart_coords(cart, rank, 3, coords)
  do d = 1, 3
    call MPI_Cart_shift(cart, d - 1, 1, nb(1, d), nb(2, d))
    lo(d) = coords(d) * n / dims(d) + 1
    hi(d) = (coords(d) + 1) * n / dims(d)
  end do
  if (any(hi < lo)) then
    if (rank == 0) write (error_unit, '(a,i0,a,i0,a)') 'heat3d: a grid of ', n, &
         ' cells per side is too small for ', nprocs, ' ranks'
    call MPI_Abort(MPI_COMM_WORLD, 2)
  end if

  ! The block with one layer of halo, indexed globally: the halo at index
  ! 0 or n + 1 is the fixed boundary (the face x = 0 is hot).
  allocate (u(lo(1) - 1:hi(1) + 1, lo(2) - 1:hi(2) + 1, lo(3) - 1:hi(3) + 1))
  u = t_cold
  if (lo(1) == 1) u(0, :, :) = t_hot
  allocate (v, mold=u)
  face_max = max((hi(2) - lo(2) + 1) * (hi(3) - lo(3) + 1), &
                 (hi(1) - lo(1) + 1) * (hi(3) - lo(3) + 1), &
                 (hi(1) - lo(1) + 1) * (hi(2) - lo(2) + 1))
  allocate (sbuf(face_max, 6), rbuf(face_max, 6))
  it = 0
  residual = 0

  ! The state a restart needs: the field (with its halo), the iteration
  ! and the last residual.
  call mpisnap_protect('u', u)
  call mpisnap_protect('iteration', it)
  call mpisnap_protect('residual', residual)
  if (mpisnap_restarting()) then
    call mpisnap_restore(id)
    if (rank == 0) write (output_unit, '(a,i0,a,i0)') 'RESTARTED FROM ', id, &
         ' at iteration ', it
  end if
  if (rank == 0) write (output_unit, '(a,i0,a,i0,a,i0,a,i0,a,i0,a)') 'heat3d: ', n, &
       '^3 grid on ', dims(1), ' x ', dims(2), ' x ', dims(3), ' ranks, ', iters, &
       ' iterations'
  flush (output_unit)

  stopped = .false.
  do while (it < iters)
    ! Faces: f = 2 * (d - 1) + s, s = 1 towards the lower neighbour in
    ! dimension d, 2 towards the upper one.  The message travelling
    ! towards side s carries tag f.
    do d = 1, 3
      do s = 1, 2
        f = 2 * (d - 1) + s
        call MPI_Irecv(rbuf(:, f), face_size(d), MPI_DOUBLE_PRECISION, nb(s, d), &
                       2 * (d - 1) + (3 - s), cart, req(f))
        call pack_face(d, s, sbuf(:, f))
        call MPI_Isend(sbuf(:, f), face_size(d), MPI_DOUBLE_PRECISION, nb(s, d), f, &
                       cart, req(6 + f))
      end do
    end do
    call MPI_Waitall(12, req, MPI_STATUSES_IGNORE)
    do d = 1, 3
      do s = 1, 2
        if (nb(s, d) /= MPI_PROC_NULL) call unpack_face(d, s, rbuf(:, 2 * (d - 1) + s))
      end do
    end do

    local = 0
    do k = lo(3), hi(3)
      do j = lo(2), hi(2)
        do i = lo(1), hi(1)
          v(i, j, k) = u(i, j, k) + alpha * ((u(i - 1, j, k) + u(i + 1, j, k)) + &
               (u(i, j - 1, k) + u(i, j + 1, k)) + (u(i, j, k - 1) + u(i, j, k + 1)) - &
               6 * u(i, j, k))
          local = max(local, abs(v(i, j, k) - u(i, j, k)))
        end do
      end do
    end do
    u(lo(1):hi(1), lo(2):hi(2), lo(3):hi(3)) = v(lo(1):hi(1), lo(2):hi(2), lo(3):hi(3))
    it = it + 1
    if (mod(it, int(every, int64)) == 0 .or. it == iters) then
      call MPI_Allreduce(local, residual, 1, MPI_DOUBLE_PRECISION, MPI_MAX, cart)
      if (verbose .and. rank == 0) then
        write (output_unit, '(a,i0,a,es14.6)') 'iteration ', it, ': residual ', residual
        flush (output_unit)
      end if
    end if
    if (nap > 0) s = usleep(int(nap, c_int))
    ! A safe point: no request is pending and u and it agree.
    call mpisnap_point()
    if (mpisnap_should_exit()) then
      stopped = .true.
      exit
    end if
  end do

  if (stopped) then
    if (rank == 0) write (error_unit, '(a)') 'heat3d: checkpointed and asked to stop'
  else
    mine = checksum()
    call MPI_Reduce(mine, total, 1, MPI_INTEGER8, MPI_SUM, 0, cart)
    if (rank == 0) then
      write (output_unit, '(a,i0,a,es23.16)') 'heat3d: ', it, ' iterations done, residual ', &
           residual
      write (output_unit, '(a,z16.16)') 'ANSWER ', total
    end if
  end if
  call mpisnap_finalize()
  call MPI_Comm_free(cart)
  call MPI_Finalize()

contains

  integer function face_size(dim)
    integer, intent(in) :: dim
    select case (dim)
    case (1); face_size = (hi(2) - lo(2) + 1) * (hi(3) - lo(3) + 1)
    case (2); face_size = (hi(1) - lo(1) + 1) * (hi(3) - lo(3) + 1)
    case default; face_size = (hi(1) - lo(1) + 1) * (hi(2) - lo(2) + 1)
    end select
  end function face_size

  ! The block's own cells on side s of dimension d, into buf.
  subroutine pack_face(dim, side, buf)
    integer, intent(in) :: dim, side
    real(real64), intent(out) :: buf(:)
    integer :: c, m
    c = merge(lo(dim), hi(dim), side == 1)
    m = face_size(dim)
    select case (dim)
    case (1); buf(1:m) = reshape(u(c, lo(2):hi(2), lo(3):hi(3)), [m])
    case (2); buf(1:m) = reshape(u(lo(1):hi(1), c, lo(3):hi(3)), [m])
    case default; buf(1:m) = reshape(u(lo(1):hi(1), lo(2):hi(2), c), [m])
    end select
  end subroutine pack_face

  ! The neighbour's cells into the halo on side s of dimension d.
  subroutine unpack_face(dim, side, buf)
    integer, intent(in) :: dim, side
    real(real64), intent(in) :: buf(:)
    integer :: c
    c = merge(lo(dim) - 1, hi(dim) + 1, side == 1)
    select case (dim)
    case (1)
      u(c, lo(2):hi(2), lo(3):hi(3)) = reshape(buf(1:face_size(1)), &
           [hi(2) - lo(2) + 1, hi(3) - lo(3) + 1])
    case (2)
      u(lo(1):hi(1), c, lo(3):hi(3)) = reshape(buf(1:face_size(2)), &
           [hi(1) - lo(1) + 1, hi(3) - lo(3) + 1])
    case default
      u(lo(1):hi(1), lo(2):hi(2), c) = reshape(buf(1:face_size(3)), &
           [hi(1) - lo(1) + 1, hi(2) - lo(2) + 1])
    end select
  end subroutine unpack_face

  ! Each cell's bits and global position folded into [0, prime): an exact
  ! integer sum, the same for any decomposition.
  integer(int64) function checksum()
    integer(int64) :: bits, hi32, lo32, g
    checksum = 0
    do k = lo(3), hi(3)
      do j = lo(2), hi(2)
        do i = lo(1), hi(1)
          bits = transfer(u(i, j, k), 0_int64)
          hi32 = ishft(bits, -32)
          lo32 = iand(bits, 4294967295_int64)
          g = (int(k, int64) * n + j) * n + i
          checksum = checksum + mod(mod(hi32 * 65599_int64 + lo32, prime) * &
               mod(g, 46337_int64) + g, prime)
        end do
      end do
    end do
  end function checksum

  subroutine options()
    character(len=64) :: arg, val
    integer :: a, ios
    a = 1
    do while (a <= command_argument_count())
      call get_command_argument(a, arg)
      if (arg == '-h' .or. arg == '--help') then
        if (rank == 0) then
          write (output_unit, '(a)') 'usage: heat3d [-n N] [-i ITERS] [-r K] [-s USEC] [-v] [-h]', &
               '', 'Explicit 3-D heat equation on an N^3 grid, checkpointed with', &
               'mpisnap (collective mode).  Prints "ANSWER <hex>" on rank 0: an exact', &
               'checksum of the final field, the same on any number of ranks.', '', &
               '  -n N      global grid size (default 40)', &
               '  -i ITERS  iterations (default 400)', &
               '  -r K      residual every K iterations (default 50)', &
               '  -s USEC   sleep USEC microseconds per iteration (default 0)', &
               '  -v        print the residual every K iterations'
        end if
        call mpisnap_finalize()
        call MPI_Finalize()
        stop
      else if (arg == '-v') then
        verbose = .true.
        a = a + 1
        cycle
      end if
      call get_command_argument(a + 1, val)
      ios = 1
      select case (arg)
      case ('-n'); read (val, *, iostat=ios) n
      case ('-i'); read (val, *, iostat=ios) iters
      case ('-r'); read (val, *, iostat=ios) every
      case ('-s'); read (val, *, iostat=ios) nap
      end select
      if (ios /= 0 .or. a + 1 > command_argument_count() .or. n < 1 .or. iters < 0 &
          .or. every < 1 .or. nap < 0) then
        if (rank == 0) write (error_unit, '(3a)') "heat3d: bad option or value '", &
             trim(arg), "' (try -h)"
        call MPI_Abort(MPI_COMM_WORLD, 2)
      end if
      a = a + 2
    end do
  end subroutine options

end program heat3d
