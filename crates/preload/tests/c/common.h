/* Shared by the test programs: each prints one line per call, with the return value and
 * the errno name on failure, and never a raw pid, time or address, so that a run on the
 * host kernel and a run under the preload library print the same text. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void report(const char *what, long r, int err) {
    if (r == -1)
        printf("%s = -1 %s\n", what, strerrorname_np(err));
    else
        printf("%s = %ld\n", what, r);
    fflush(stdout);
}

#define CHECK(what, expr)                                                                  \
    do {                                                                                   \
        errno = 0;                                                                         \
        long r_ = (long)(expr);                                                            \
        report(what, r_, errno);                                                           \
    } while (0)

/* A pid as "self", "0" or "other". */
__attribute__((unused)) static const char *who(long pid) {
    if (pid == 0)
        return "0";
    return pid == getpid() ? "self" : "other";
}

__attribute__((unused)) static void pause_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
    struct seminfo *__buf;
};
