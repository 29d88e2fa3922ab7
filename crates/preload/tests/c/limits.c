/* The limits the namespace was configured with (sysctls natively, SYSVIPC_* variables under
 * the preload library), and the checks that use them. */
#include "common.h"

int main(void) {
    struct msginfo mi;
    CHECK("msgctl(IPC_INFO)", msgctl(0, IPC_INFO, (struct msqid_ds *)&mi));
    printf("  msgmax=%d msgmnb=%d msgmni=%d\n", mi.msgmax, mi.msgmnb, mi.msgmni);
    struct seminfo si;
    union semun arg = {.__buf = &si};
    CHECK("semctl(IPC_INFO)", semctl(0, 0, IPC_INFO, arg));
    printf("  semmsl=%d semmns=%d semopm=%d semmni=%d\n", si.semmsl, si.semmns, si.semopm,
           si.semmni);
    struct shminfo hi;
    CHECK("shmctl(IPC_INFO)", shmctl(0, IPC_INFO, (struct shmid_ds *)&hi));
    printf("  shmmax=%lu shmall=%lu shmmni=%lu\n", hi.shmmax, hi.shmall, hi.shmmni);

    int q = msgget(IPC_PRIVATE, 0600);
    struct {
        long t;
        char x[200];
    } m = {1, {0}};
    CHECK("msgsnd(60 bytes)", msgsnd(q, &m, 60, IPC_NOWAIT));
    CHECK("msgsnd(50 bytes)", msgsnd(q, &m, 50, IPC_NOWAIT));
    CHECK("msgsnd(50 bytes) again", msgsnd(q, &m, 50, IPC_NOWAIT));
    CHECK("msgget(IPC_PRIVATE) past msgmni", msgget(IPC_PRIVATE, 0600));
    CHECK("semget(5 sems) past semmsl", semget(IPC_PRIVATE, 5, 0600));
    CHECK("semget(4 sems)", semget(IPC_PRIVATE, 4, 0600));
    struct sembuf ops[3] = {{0, 1, 0}, {1, 1, 0}, {2, 1, 0}};
    CHECK("semop(3 ops) past semopm", semop(0, ops, 3));
    CHECK("shmget(8192) past shmmax", shmget(IPC_PRIVATE, 8192, 0600));
    CHECK("shmget(4096)", shmget(IPC_PRIVATE, 4096, 0600));
    CHECK("shmget(4096) past shmmni", shmget(IPC_PRIVATE, 4096, 0600));
    return 0;
}
