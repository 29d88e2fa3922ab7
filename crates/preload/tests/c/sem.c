/* Semaphore sets: every sem call, SEM_UNDO within the process, timeouts and the stat
 * fields. */
#include "common.h"

static void stat_set(int id) {
    struct semid_ds ds;
    union semun arg = {.buf = &ds};
    CHECK("semctl(IPC_STAT)", semctl(id, 0, IPC_STAT, arg));
    printf("  mode=%o uid=%u gid=%u cuid=%u cgid=%u nsems=%lu otime=%s ctime=%s\n",
           ds.sem_perm.mode, ds.sem_perm.uid, ds.sem_perm.gid, ds.sem_perm.cuid,
           ds.sem_perm.cgid, (unsigned long)ds.sem_nsems, ds.sem_otime ? "set" : "0",
           ds.sem_ctime ? "set" : "0");
}

static void values(int id) {
    unsigned short v[3] = {9, 9, 9};
    union semun arg = {.array = v};
    CHECK("semctl(GETALL)", semctl(id, 0, GETALL, arg));
    printf("  values=%u,%u,%u\n", v[0], v[1], v[2]);
}

static void op(int id, unsigned short num, short delta, short flags) {
    struct sembuf sb = {num, delta, flags};
    char what[80];
    snprintf(what, sizeof what, "semop(sem %u, %+d, flags %#x)", num, delta, flags);
    CHECK(what, semop(id, &sb, 1));
}

int main(void) {
    int id = semget(IPC_PRIVATE, 3, 0600);
    report("semget(IPC_PRIVATE, 3)", id, errno);
    CHECK("semget(0x4321, 2, IPC_CREAT|0660)", semget(0x4321, 2, IPC_CREAT | 0660));
    CHECK("semget(0x4321, 5, 0)", semget(0x4321, 5, 0));
    CHECK("semget(0x4321, 0, 0)", semget(0x4321, 0, 0));
    CHECK("semget(IPC_PRIVATE, 40000)", semget(IPC_PRIVATE, 40000, 0600));
    CHECK("semget(IPC_PRIVATE, 0)", semget(IPC_PRIVATE, 0, 0600));
    stat_set(id);
    values(id);

    union semun arg = {.val = 5};
    CHECK("semctl(SETVAL 1 = 5)", semctl(id, 1, SETVAL, arg));
    CHECK("semctl(GETVAL 1)", semctl(id, 1, GETVAL));
    CHECK("semctl(GETVAL 3)", semctl(id, 3, GETVAL));
    arg.val = 40000;
    CHECK("semctl(SETVAL 40000)", semctl(id, 0, SETVAL, arg));
    unsigned short set[3] = {1, 2, 3};
    arg.array = set;
    CHECK("semctl(SETALL)", semctl(id, 0, SETALL, arg));
    values(id);
    arg.array = (unsigned short *)8;
    CHECK("semctl(SETALL, bad pointer)", semctl(id, 0, SETALL, arg));
    CHECK("semctl(GETALL, bad pointer)", semctl(id, 0, GETALL, arg));
    printf("semctl(GETPID 0) after SETALL = %s\n", who(semctl(id, 0, GETPID)));

    op(id, 0, -1, 0);
    op(id, 0, -1, IPC_NOWAIT);
    op(id, 2, 0, IPC_NOWAIT);
    op(id, 5, 1, 0);
    op(id, 1, 32767, 0);
    long pid = semctl(id, 0, GETPID);
    printf("semctl(GETPID 0) = %s\n", who(pid));
    printf("semctl(GETPID 1) = %s\n", who(semctl(id, 1, GETPID)));
    CHECK("semctl(GETNCNT 0)", semctl(id, 0, GETNCNT));
    CHECK("semctl(GETZCNT 0)", semctl(id, 0, GETZCNT));

    struct sembuf two[2] = {{0, 1, 0}, {2, -3, 0}};
    CHECK("semop(two ops)", semop(id, two, 2));
    values(id);
    CHECK("semop(0 ops)", semop(id, two, 0));
    CHECK("semop(bad pointer)", semop(id, (struct sembuf *)8, 1));
    CHECK("semop(bad id)", semop(id + 1000, two, 1));

    op(id, 1, 1, SEM_UNDO);
    op(id, 1, 1, SEM_UNDO);
    CHECK("semctl(GETVAL 1) after SEM_UNDO", semctl(id, 1, GETVAL));

    struct sembuf wait0 = {0, -5, 0};
    struct timespec ts = {0, 50 * 1000000L};
    CHECK("semtimedop(50 ms, would block)", semtimedop(id, &wait0, 1, &ts));
    struct timespec bad = {0, 2000000000L};
    CHECK("semtimedop(tv_nsec too big)", semtimedop(id, &wait0, 1, &bad));
    CHECK("semtimedop(bad timeout pointer)", semtimedop(id, &wait0, 1, (void *)8));
    struct sembuf inc = {0, 1, 0};
    CHECK("semtimedop(can proceed)", semtimedop(id, &inc, 1, &ts));
    stat_set(id);

    struct semid_ds ds;
    arg.buf = &ds;
    semctl(id, 0, IPC_STAT, arg);
    ds.sem_perm.mode = 0640;
    ds.sem_perm.gid = 7;
    CHECK("semctl(IPC_SET)", semctl(id, 0, IPC_SET, arg));
    stat_set(id);

    struct seminfo info;
    arg.__buf = &info;
    CHECK("semctl(IPC_INFO)", semctl(0, 0, IPC_INFO, arg));
    printf("  semmni=%d semmns=%d semmsl=%d semopm=%d semvmx=%d semaem=%d semusz=%d\n",
           info.semmni, info.semmns, info.semmsl, info.semopm, info.semvmx, info.semaem,
           info.semusz);
    CHECK("semctl(SEM_INFO)", semctl(0, 0, SEM_INFO, arg));
    printf("  semusz=%d semaem=%d\n", info.semusz, info.semaem);
    arg.buf = &ds;
    CHECK("semctl(SEM_STAT, 0)", semctl(0, 0, SEM_STAT, arg));
    CHECK("semctl(SEM_STAT_ANY, 1)", semctl(1, 0, SEM_STAT_ANY, arg));
    CHECK("semctl(SEM_STAT, 9)", semctl(9, 0, SEM_STAT, arg));
    CHECK("semctl(cmd 99)", semctl(id, 0, 99, arg));

    CHECK("semctl(IPC_RMID)", semctl(id, 0, IPC_RMID));
    CHECK("semctl(IPC_RMID) again", semctl(id, 0, IPC_RMID));
    op(id, 0, 1, 0);
    int k = semget(0x4321, 0, 0);
    CHECK("semctl(0x4321, IPC_RMID)", semctl(k, 0, IPC_RMID));
    return 0;
}
