! fsem: the MPI layer's point-to-point semantics, from Fortran (use mpi,
! integer handles): the Fortran subset of tests/mpi (order, probe,
! waittest, persistent, sendrecv).  Passes with plain MPI; under mpisnap
! every call goes through libmpisnap's Fortran entry points.
!
! 1. order: N same-tag messages around the ring arrive in order.
! 2. ANY_SOURCE / ANY_TAG: every rank but 0 sends M numbered messages to
!    rank 0; the status names the real source and tag, each source's
!    messages arrive in the order sent.
! 3. probe: MPI_Probe and MPI_Iprobe then MPI_Get_count and MPI_Recv;
!    MPI_Improbe / MPI_Mrecv.
! 4. waitany / waitall / waitsome / testall over Irecvs, with statuses.
! 5. persistent: Send_init / Recv_init started many times with Startall.
! 6. sendrecv and sendrecv_replace around the ring; MPI_IN_PLACE in
!    MPI_Allreduce; a communicator made by MPI_Comm_split and freed.
! Works with any number of ranks from 2.
program fsem
  use mpi
  implicit none
  integer, parameter :: N = 200, M = 40, R = 30
  integer :: rank, nprocs, ierr, left, right, i, src, seq, cnt, idx, k, outcount
  integer :: st(MPI_STATUS_SIZE), sts(MPI_STATUS_SIZE, 8), msg(3), flag_n
  integer, allocatable :: nexts(:), reqs(:), indices(:)
  integer :: preq(2), split, srank, ssize, sum, msgh
  ! Buffers of nonblocking and persistent operations change behind the
  ! compiler's back (MPI 3.1, section 17.1.17): without this, gfortran -O2
  ! keeps rval in a register across MPI_Waitall.
  integer, volatile :: got, sval, rval
  integer, allocatable, volatile :: outs(:), ins(:)
  logical :: flag

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, nprocs, ierr)
  if (nprocs < 2) call fail('needs at least 2 ranks')
  right = mod(rank + 1, nprocs)
  left = mod(rank - 1 + nprocs, nprocs)
  allocate (nexts(0:nprocs - 1), reqs(max(N, M)), outs(max(N, M)), ins(8), indices(8))

  ! 1. order around the ring
  do i = 1, N
    outs(i) = rank * 100000 + i
    call MPI_Isend(outs(i), 1, MPI_INTEGER, right, 7, MPI_COMM_WORLD, reqs(i), ierr)
  end do
  do i = 1, N
    call MPI_Recv(got, 1, MPI_INTEGER, left, 7, MPI_COMM_WORLD, st, ierr)
    call check(got == left * 100000 + i, 'ring: message out of order')
    call check(st(MPI_SOURCE) == left .and. st(MPI_TAG) == 7, 'ring: status')
  end do
  call MPI_Waitall(N, reqs, MPI_STATUSES_IGNORE, ierr)
  call check(all(reqs(1:N) == MPI_REQUEST_NULL), 'ring: Waitall left a request')

  ! 2. wildcards: ANY_SOURCE with a fixed tag, then both wildcards
  do k = 1, 2
    if (rank == 0) then
      nexts = 0
      do i = 1, (nprocs - 1) * M
        if (k == 1) then
          call MPI_Recv(msg, 3, MPI_INTEGER, MPI_ANY_SOURCE, 42, MPI_COMM_WORLD, st, ierr)
        else
          call MPI_Recv(msg, 3, MPI_INTEGER, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &
                        st, ierr)
        end if
        src = msg(1)
        call check(src >= 1 .and. src < nprocs, 'wildcard: payload source')
        call check(st(MPI_SOURCE) == src, 'wildcard: status source')
        call check(st(MPI_TAG) == msg(3), 'wildcard: status tag')
        call check(msg(2) == nexts(src), 'wildcard: order from one source broken')
        call MPI_Get_count(st, MPI_INTEGER, cnt, ierr)
        call check(cnt == 3, 'wildcard: count')
        nexts(src) = nexts(src) + 1
      end do
      call check(all(nexts(1:) == M), 'wildcard: messages per source')
    else
      do seq = 0, M - 1
        outs(3 * seq + 1:3 * seq + 3) = [rank, seq, merge(42, 100 + mod(rank + seq, 5), k == 1)]
      end do
      do seq = 0, M - 1
        call MPI_Isend(outs(3 * seq + 1), 3, MPI_INTEGER, 0, outs(3 * seq + 3), &
                       MPI_COMM_WORLD, reqs(seq + 1), ierr)
      end do
      call MPI_Waitall(M, reqs, MPI_STATUSES_IGNORE, ierr)
    end if
    call MPI_Barrier(MPI_COMM_WORLD, ierr)
  end do
  deallocate (outs)
  allocate (outs(3 * M))

  ! 3. probe: blocking, nonblocking, matched
  if (rank == 0) then
    do i = 1, nprocs - 1
      call MPI_Probe(MPI_ANY_SOURCE, 9, MPI_COMM_WORLD, st, ierr)
      call MPI_Get_count(st, MPI_INTEGER, cnt, ierr)
      src = st(MPI_SOURCE)
      call check(cnt == src, 'probe: count')
      call MPI_Recv(outs, cnt, MPI_INTEGER, src, 9, MPI_COMM_WORLD, MPI_STATUS_IGNORE, ierr)
      call check(all(outs(1:cnt) == src), 'probe: data')
    end do
    do i = 1, nprocs - 1
      flag = .false.
      do while (.not. flag)
        call MPI_Iprobe(i, 10, MPI_COMM_WORLD, flag, st, ierr)
      end do
      call check(st(MPI_SOURCE) == i, 'iprobe: source')
      call MPI_Recv(got, 1, MPI_INTEGER, i, 10, MPI_COMM_WORLD, st, ierr)
      call check(got == -i, 'iprobe: data')
    end do
    do i = 1, nprocs - 1
      flag = .false.
      do while (.not. flag)
        call MPI_Improbe(MPI_ANY_SOURCE, 11, MPI_COMM_WORLD, flag, msgh, st, ierr)
      end do
      src = st(MPI_SOURCE)
      call MPI_Mrecv(got, 1, MPI_INTEGER, msgh, st, ierr)
      call check(got == 1000 + src .and. st(MPI_SOURCE) == src, 'improbe/mrecv')
      call check(msgh == MPI_MESSAGE_NULL, 'mrecv: message handle not null')
    end do
  else
    outs(1:rank) = rank
    call MPI_Send(outs, rank, MPI_INTEGER, 0, 9, MPI_COMM_WORLD, ierr)
    call MPI_Send(-rank, 1, MPI_INTEGER, 0, 10, MPI_COMM_WORLD, ierr)
    call MPI_Send(1000 + rank, 1, MPI_INTEGER, 0, 11, MPI_COMM_WORLD, ierr)
  end if
  call MPI_Barrier(MPI_COMM_WORLD, ierr)

  ! 4. completion families over 8 receives from the left
  call post8()
  call sends8(0)
  do i = 1, 8
    call MPI_Waitany(8, reqs, idx, st, ierr)
    call check(idx >= 1 .and. idx <= 8, 'waitany: index')
    call check(reqs(idx) == MPI_REQUEST_NULL, 'waitany: request not freed')
    call check(ins(idx) == left * 1000 + idx .and. st(MPI_TAG) == idx, 'waitany: data')
  end do
  call MPI_Waitany(8, reqs, idx, st, ierr)
  call check(idx == MPI_UNDEFINED, 'waitany on null requests: index')
  call wait_sends()
  call post8()
  call sends8(0)
  call MPI_Waitall(8, reqs, sts, ierr)
  do i = 1, 8
    call check(ins(i) == left * 1000 + i .and. sts(MPI_SOURCE, i) == left .and. &
               sts(MPI_TAG, i) == i, 'waitall: data or status')
  end do
  call wait_sends()
  call post8()
  call sends8(0)
  k = 0
  do while (k < 8)
    call MPI_Waitsome(8, reqs, outcount, indices, sts, ierr)
    call check(outcount >= 1, 'waitsome: outcount')
    do i = 1, outcount
      idx = indices(i)
      call check(ins(idx) == left * 1000 + idx .and. sts(MPI_TAG, i) == idx, 'waitsome: data')
    end do
    k = k + outcount
  end do
  call MPI_Waitsome(8, reqs, outcount, indices, sts, ierr)
  call check(outcount == MPI_UNDEFINED, 'waitsome on null requests')
  call wait_sends()
  call post8()
  call sends8(0)
  flag = .false.
  do while (.not. flag)
    call MPI_Testall(8, reqs, flag, sts, ierr)
  end do
  do i = 1, 8
    call check(ins(i) == left * 1000 + i .and. sts(MPI_TAG, i) == i, 'testall: data')
  end do
  call wait_sends()
  call post8()
  call sends8(0)
  flag_n = 0
  do while (flag_n < 8)
    call MPI_Testany(8, reqs, idx, flag, st, ierr)
    if (flag) then
      if (idx == MPI_UNDEFINED) exit
      call check(ins(idx) == left * 1000 + idx, 'testany: data')
      flag_n = flag_n + 1
    end if
  end do
  call check(flag_n == 8, 'testany: completions')
  call wait_sends()
  call MPI_Irecv(got, 1, MPI_INTEGER, left, 77, MPI_COMM_WORLD, reqs(1), ierr)
  call MPI_Send(rank, 1, MPI_INTEGER, right, 77, MPI_COMM_WORLD, ierr)
  flag = .false.
  do while (.not. flag)
    call MPI_Test(reqs(1), flag, st, ierr)
  end do
  call check(got == left .and. reqs(1) == MPI_REQUEST_NULL, 'test: data')

  ! 5. persistent requests, started R times
  call MPI_Recv_init(rval, 1, MPI_INTEGER, left, 5, MPI_COMM_WORLD, preq(1), ierr)
  call MPI_Send_init(sval, 1, MPI_INTEGER, right, 5, MPI_COMM_WORLD, preq(2), ierr)
  do i = 1, R
    sval = rank * 100 + i
    call MPI_Startall(2, preq, ierr)
    call MPI_Waitall(2, preq, sts, ierr)
    call check(rval == left * 100 + i, 'persistent: data')
    call check(preq(1) /= MPI_REQUEST_NULL .and. preq(2) /= MPI_REQUEST_NULL, &
               'persistent: request freed by Waitall')
  end do
  do i = 1, R
    sval = -i
    call MPI_Start(preq(1), ierr)
    call MPI_Start(preq(2), ierr)
    call MPI_Wait(preq(2), st, ierr)
    call MPI_Wait(preq(1), st, ierr)
    call check(rval == -i .and. st(MPI_SOURCE) == left, 'persistent Start/Wait: data')
  end do
  call MPI_Request_free(preq(1), ierr)
  call MPI_Request_free(preq(2), ierr)
  call check(all(preq == MPI_REQUEST_NULL), 'Request_free: handle not null')

  ! 6. sendrecv, sendrecv_replace, IN_PLACE, a split communicator
  do i = 1, R
    call MPI_Sendrecv(rank + i, 1, MPI_INTEGER, right, 3, got, 1, MPI_INTEGER, left, 3, &
                      MPI_COMM_WORLD, st, ierr)
    call check(got == left + i .and. st(MPI_SOURCE) == left, 'sendrecv: data')
    sval = rank * 7 + i
    call MPI_Sendrecv_replace(sval, 1, MPI_INTEGER, right, 4, left, 4, MPI_COMM_WORLD, &
                              MPI_STATUS_IGNORE, ierr)
    call check(sval == left * 7 + i, 'sendrecv_replace: data')
  end do
  sum = rank
  call MPI_Allreduce(MPI_IN_PLACE, sum, 1, MPI_INTEGER, MPI_SUM, MPI_COMM_WORLD, ierr)
  call check(sum == nprocs * (nprocs - 1) / 2, 'allreduce MPI_IN_PLACE')
  call MPI_Comm_split(MPI_COMM_WORLD, mod(rank, 2), -rank, split, ierr)
  call MPI_Comm_rank(split, srank, ierr)
  call MPI_Comm_size(split, ssize, ierr)
  if (ssize > 1) then
    call MPI_Sendrecv(rank, 1, MPI_INTEGER, mod(srank + 1, ssize), 1, got, 1, MPI_INTEGER, &
                      mod(srank - 1 + ssize, ssize), 1, split, st, ierr)
    call check(mod(got, 2) == mod(rank, 2), 'split: message from the other half')
  end if
  call MPI_Comm_free(split, ierr)
  call check(split == MPI_COMM_NULL, 'Comm_free: handle not null')

  call MPI_Barrier(MPI_COMM_WORLD, ierr)
  if (rank == 0) write (*, '(a)') 'fsem ok'
  call MPI_Finalize(ierr)

contains

  subroutine check(ok, what)
    logical, intent(in) :: ok
    character(len=*), intent(in) :: what
    if (.not. ok) call fail(what)
  end subroutine check

  subroutine fail(what)
    character(len=*), intent(in) :: what
    integer :: e
    write (0, '(a,i0,2a)') 'fsem: rank ', rank, ': FAIL: ', what
    call MPI_Abort(MPI_COMM_WORLD, 1, e)
  end subroutine fail

  subroutine post8()
    integer :: j
    ins = -1
    do j = 1, 8
      call MPI_Irecv(ins(j), 1, MPI_INTEGER, left, j, MPI_COMM_WORLD, reqs(j), ierr)
    end do
  end subroutine post8

  ! Send 8 tagged messages to the right, in reverse order of tags.
  subroutine sends8(dummy)
    integer, intent(in) :: dummy
    integer :: j
    do j = 8, 1, -1
      outs(j) = rank * 1000 + j + dummy
      call MPI_Isend(outs(j), 1, MPI_INTEGER, right, j, MPI_COMM_WORLD, reqs(8 + j), ierr)
    end do
  end subroutine sends8

  subroutine wait_sends()
    call MPI_Waitall(8, reqs(9:16), MPI_STATUSES_IGNORE, ierr)
  end subroutine wait_sends

end program fsem
