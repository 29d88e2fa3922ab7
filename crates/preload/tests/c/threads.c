/* Blocking across threads: a receiver woken by another thread's send, a semaphore waiter
 * woken by another thread's semop, a sender woken when room is made, waiters woken by
 * IPC_RMID (EIDRM), and EINTR from a signal handler installed with SA_RESTART. */
#include "common.h"

struct msg {
    long mtype;
    char mtext[32];
};

static int q, sem;
static volatile int stop_signals;
static pthread_t main_thread;
static volatile sig_atomic_t handled;

static volatile pid_t sleeper_tids[2];

/* Called by a thread about to block, in slot 0 or 1. */
static void started(int slot) { sleeper_tids[slot] = (pid_t)syscall(SYS_gettid); }

/* Waits until the threads that called `started` are asleep (state S in
 * /proc/self/task/<tid>/stat), in the kernel or in the library's futex. */
static void wait_for_sleepers(void) {
    for (int i = 0; i < 2; i++) {
        for (int tries = 0; tries < 500; tries++) {
            pid_t tid = sleeper_tids[i];
            if (tid == 0 && i == 0) {
                pause_ms(10);
                continue;
            }
            if (tid == 0)
                break;
            char path[64], buf[256];
            snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
            FILE *f = fopen(path, "r");
            if (!f)
                break;
            size_t n = fread(buf, 1, sizeof buf - 1, f);
            fclose(f);
            buf[n] = 0;
            char *close = strrchr(buf, ')');
            if (close && close[1] == ' ' && close[2] == 'S')
                break;
            pause_ms(10);
        }
    }
    pause_ms(20);
}

/* What a thread's call returned, reported by main after joining it so that the output
 * does not depend on scheduling. */
struct outcome {
    const char *what;
    long ret;
    int err;
    int slot;
    struct msg m;
};

static void *receiver(void *arg) {
    struct outcome *o = arg;
    o->what = "thread: msgrcv (blocking)";
    started(0);
    errno = 0;
    o->ret = msgrcv(q, &o->m, sizeof o->m.mtext, 0, 0);
    o->err = errno;
    return NULL;
}

static void *sem_waiter(void *arg) {
    struct outcome *o = arg;
    o->what = "thread: semop(-2) (blocking)";
    started(o->slot);
    struct sembuf sb = {0, -2, 0};
    errno = 0;
    o->ret = semop(sem, &sb, 1);
    o->err = errno;
    return NULL;
}

static void *sender(void *arg) {
    struct outcome *o = arg;
    o->what = "thread: msgsnd (blocking on a full queue)";
    started(0);
    struct msg m = {9, "12345678"};
    errno = 0;
    o->ret = msgsnd(q, &m, 8, 0);
    o->err = errno;
    return NULL;
}

static void join(pthread_t t, struct outcome *o) {
    pthread_join(t, NULL);
    report(o->what, o->ret, o->err);
    if (o->m.mtype)
        printf("  mtype=%ld text=\"%s\"\n", o->m.mtype, o->m.mtext);
    int slot = o->slot;
    sleeper_tids[slot] = 0;
    memset(o, 0, sizeof *o);
    o->slot = slot;
}

static void *signaller(void *arg) {
    (void)arg;
    while (!stop_signals) {
        pthread_kill(main_thread, SIGUSR1);
        pause_ms(20);
    }
    return NULL;
}

static void on_usr1(int sig) {
    (void)sig;
    handled = 1;
}



int main(void) {
    pthread_t t, t2;
    struct outcome o, o2;
    memset(&o, 0, sizeof o);
    memset(&o2, 0, sizeof o2);
    o2.slot = 1;
    q = msgget(IPC_PRIVATE, 0600);
    sem = semget(IPC_PRIVATE, 1, 0600);

    pthread_create(&t, NULL, receiver, &o);
    wait_for_sleepers();
    struct msg m = {4, "wake up"};
    CHECK("main: msgsnd", msgsnd(q, &m, 8, 0));
    pid_t receiver_tid = sleeper_tids[0];
    join(t, &o);
    struct msqid_ds st;
    msgctl(q, IPC_STAT, &st);
    /* A message handed to a waiting receiver records the receiver's thread id. */
    printf("  lspid=%s lrpid is the receiving thread: %d\n", who(st.msg_lspid),
           st.msg_lrpid == receiver_tid);

    pthread_create(&t, NULL, sem_waiter, &o);
    wait_for_sleepers();
    CHECK("main: semctl(GETNCNT) with a waiter", semctl(sem, 0, GETNCNT));
    struct sembuf one = {0, 1, 0};
    CHECK("main: semop(+1)", semop(sem, &one, 1));
    wait_for_sleepers();
    CHECK("main: semctl(GETNCNT) still waiting", semctl(sem, 0, GETNCNT));
    CHECK("main: semop(+1)", semop(sem, &one, 1));
    join(t, &o);
    CHECK("main: semctl(GETVAL)", semctl(sem, 0, GETVAL));

    struct msqid_ds ds;
    msgctl(q, IPC_STAT, &ds);
    ds.msg_qbytes = 8;
    CHECK("main: msgctl(IPC_SET qbytes 8)", msgctl(q, IPC_SET, &ds));
    struct msg full = {1, "abcdefgh"};
    CHECK("main: msgsnd (fills the queue)", msgsnd(q, &full, 8, 0));
    pthread_create(&t, NULL, sender, &o);
    wait_for_sleepers();
    struct msg got;
    CHECK("main: msgrcv (makes room)", msgrcv(q, &got, 32, 0, 0));
    join(t, &o);
    CHECK("main: msgrcv", msgrcv(q, &got, 32, 0, 0));
    printf("  main: mtype=%ld\n", got.mtype);

    /* IPC_RMID wakes the sleepers with EIDRM. */
    pthread_create(&t, NULL, receiver, &o);
    pthread_create(&t2, NULL, sem_waiter, &o2);
    wait_for_sleepers();
    errno = 0;
    long rm = msgctl(q, IPC_RMID, NULL);
    int rm_errno = errno;
    join(t, &o);
    report("main: msgctl(IPC_RMID)", rm, rm_errno);
    errno = 0;
    rm = semctl(sem, 0, IPC_RMID);
    rm_errno = errno;
    join(t2, &o2);
    report("main: semctl(IPC_RMID)", rm, rm_errno);

    /* Signals: the handler has SA_RESTART, and the calls still fail with EINTR. */
    q = msgget(IPC_PRIVATE, 0600);
    sem = semget(IPC_PRIVATE, 1, 0600);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    main_thread = pthread_self();
    pthread_create(&t, NULL, signaller, NULL);
    CHECK("main: msgrcv with signals", msgrcv(q, &got, 32, 0, 0));
    struct sembuf down = {0, -1, 0};
    CHECK("main: semop with signals", semop(sem, &down, 1));
    struct timespec ten = {10, 0};
    CHECK("main: semtimedop(10 s) with signals", semtimedop(sem, &down, 1, &ten));
    msgctl(q, IPC_STAT, &ds);
    ds.msg_qbytes = 8;
    msgctl(q, IPC_SET, &ds);
    msgsnd(q, &full, 8, 0);
    CHECK("main: msgsnd on a full queue with signals", msgsnd(q, &full, 8, 0));
    stop_signals = 1;
    pthread_join(t, NULL);
    printf("handler ran: %d\n", (int)handled);
    CHECK("main: semctl(GETNCNT) after the interrupted waits", semctl(sem, 0, GETNCNT));
    msgctl(q, IPC_STAT, &ds);
    printf("qnum after the interrupted send: %lu\n", (unsigned long)ds.msg_qnum);
    msgctl(q, IPC_RMID, NULL);
    semctl(sem, 0, IPC_RMID);
    return 0;
}
