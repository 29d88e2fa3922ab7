/* Permissions as the calling thread's credentials decide them: a thread drops
 * CAP_IPC_OWNER, another becomes another user, with raw syscalls that change only the
 * calling thread (glibc's set*id wrappers would change every thread). */
#include "common.h"
#include <linux/capability.h>

static int q, q0, sem, shm;

static void drop_caps(__u32 keep_low) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    syscall(SYS_capget, &h, d);
    d[0].effective &= keep_low;
    d[1].effective = 0;
    long r = syscall(SYS_capset, &h, d);
    report("thread: capset", r, errno);
}

static void try_all(const char *who_) {
    struct msqid_ds ds;
    char what[96];
    struct {
        long t;
        char x[4];
    } m = {1, "abc"};
#define TRY(label, expr)                                                                   \
    snprintf(what, sizeof what, "%s: %s", who_, label);                                   \
    CHECK(what, expr)
    TRY("msgsnd(0600 root queue)", msgsnd(q, &m, 3, IPC_NOWAIT));
    TRY("msgsnd(0000 queue)", msgsnd(q0, &m, 3, IPC_NOWAIT));
    TRY("msgctl(IPC_STAT, 0000 queue)", msgctl(q0, IPC_STAT, &ds));
    TRY("msgget(0x77, 0)", msgget(0x77, 0));
    TRY("msgget(0x77, 0400)", msgget(0x77, 0400));
    struct sembuf sb = {0, 1, IPC_NOWAIT};
    TRY("semop(0600 root set)", semop(sem, &sb, 1));
    TRY("semctl(GETVAL)", semctl(sem, 0, GETVAL));
    TRY("shmat(0600 root segment)", shmat(shm, NULL, 0) == (void *)-1 ? -1 : 0);
    TRY("shmat(SHM_RDONLY)", shmat(shm, NULL, SHM_RDONLY) == (void *)-1 ? -1 : 0);
    TRY("shmctl(SHM_LOCK)", shmctl(shm, SHM_LOCK, NULL));
    msgctl(q, IPC_STAT, &ds);
    TRY("msgctl(IPC_SET)", msgctl(q, IPC_SET, &ds));
    TRY("msgctl(IPC_RMID, 0000 queue)", msgctl(q0, IPC_RMID, NULL));
}

static void *no_ipc_owner(void *arg) {
    (void)arg;
    drop_caps(~(1u << CAP_IPC_OWNER));
    try_all("root without CAP_IPC_OWNER");
    return NULL;
}

static void *other_user(void *arg) {
    (void)arg;
    CHECK("thread: setresgid(0, 2000, 0)", syscall(SYS_setresgid, 0, 2000, 0));
    CHECK("thread: setresuid(1000, 1000, 1000)", syscall(SYS_setresuid, 1000, 1000, 1000));
    try_all("uid 1000");
    int mine = msgget(IPC_PRIVATE, 0600);
    report("uid 1000: msgget(IPC_PRIVATE)", mine, errno);
    return (void *)(long)mine;
}

int main(void) {
    q = msgget(0x77, IPC_CREAT | 0600);
    q0 = msgget(IPC_PRIVATE, 0);
    sem = semget(IPC_PRIVATE, 1, 0600);
    shm = shmget(IPC_PRIVATE, 4096, 0600);
    printf("ids %d %d %d %d\n", q, q0, sem, shm);
    try_all("root");
    q0 = msgget(IPC_PRIVATE, 0);
    pthread_t t;
    pthread_create(&t, NULL, no_ipc_owner, NULL);
    pthread_join(t, NULL);
    void *ret;
    q0 = msgget(IPC_PRIVATE, 0);
    pthread_create(&t, NULL, other_user, NULL);
    pthread_join(t, &ret);
    int mine = (int)(long)ret;
    struct msqid_ds ds;
    CHECK("root: msgctl(IPC_STAT) of uid 1000's queue", msgctl(mine, IPC_STAT, &ds));
    printf("  uid=%u gid=%u cuid=%u cgid=%u mode=%o\n", ds.msg_perm.uid, ds.msg_perm.gid,
           ds.msg_perm.cuid, ds.msg_perm.cgid, ds.msg_perm.mode);
    CHECK("root: msgctl(IPC_RMID) of uid 1000's queue", msgctl(mine, IPC_RMID, NULL));
    return 0;
}
