/* A forked child: what it sees of the state from before the fork (its attachments counted,
 * semaphore values), and the segment bytes it shares with its parent. Under the library the
 * child works on a copy of the namespace; the lines printed here are the ones that agree
 * (docs/conformance.md lists what does not). */
#include "common.h"

int main(void) {
    int id = shmget(IPC_PRIVATE, 4096, 0600);
    char *p = shmat(id, NULL, 0);
    strcpy(p, "parent");
    int s = semget(IPC_PRIVATE, 1, 0600);
    struct sembuf up = {0, 1, SEM_UNDO};
    CHECK("parent: semop(+1, SEM_UNDO)", semop(s, &up, 1));
    fflush(stdout);
    if (fork() == 0) {
        struct shmid_ds ds;
        CHECK("child: shmctl(IPC_STAT)", shmctl(id, IPC_STAT, &ds));
        printf("  child: nattch=%lu lpid=%s\n", (unsigned long)ds.shm_nattch, who(ds.shm_lpid));
        CHECK("child: semctl(GETVAL)", semctl(s, 0, GETVAL));
        printf("  child: reads \"%s\"\n", p);
        strcpy(p, "child");
        CHECK("child: shmdt", shmdt(p));
        CHECK("child: shmctl(IPC_STAT)", shmctl(id, IPC_STAT, &ds));
        printf("  child: nattch=%lu\n", (unsigned long)ds.shm_nattch);
        fflush(stdout);
        _exit(0);
    }
    wait(NULL);
    printf("parent: reads \"%s\"\n", p);
    CHECK("parent: semctl(GETVAL)", semctl(s, 0, GETVAL));
    CHECK("parent: shmdt", shmdt(p));
    CHECK("parent: shmctl(IPC_RMID)", shmctl(id, IPC_RMID, NULL));
    CHECK("parent: semctl(IPC_RMID)", semctl(s, 0, IPC_RMID));
    return 0;
}
