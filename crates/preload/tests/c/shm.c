/* Shared-memory segments: every shm call, real mappings (data shared between
 * attachments, SHM_RDONLY faults, fixed addresses) and the stat fields. */
#include "common.h"
#include <setjmp.h>
#include <sys/mman.h>

static void stat_seg(int id) {
    struct shmid_ds ds;
    CHECK("shmctl(IPC_STAT)", shmctl(id, IPC_STAT, &ds));
    if (errno == 0)
        printf("  mode=%o uid=%u gid=%u key=%d segsz=%zu nattch=%lu cpid=%s lpid=%s atime=%s "
               "dtime=%s ctime=%s\n",
               ds.shm_perm.mode, ds.shm_perm.uid, ds.shm_perm.gid, ds.shm_perm.__key,
               ds.shm_segsz, (unsigned long)ds.shm_nattch, who(ds.shm_cpid), who(ds.shm_lpid),
               ds.shm_atime ? "set" : "0", ds.shm_dtime ? "set" : "0",
               ds.shm_ctime ? "set" : "0");
}

static void show_attach(const char *what, void *p) {
    if (p == (void *)-1)
        printf("%s = -1 %s\n", what, strerrorname_np(errno));
    else
        printf("%s = an address%s\n", what, ((uintptr_t)p % 4096) == 0 ? ", page-aligned" : "");
}

/* Runs `f` in a child and reports how it ended. */
static void in_child(const char *what, void (*f)(void *), void *arg) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        f(arg);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        printf("%s: killed by %s\n", what, sigabbrev_np(WTERMSIG(status)));
    else
        printf("%s: exit %d\n", what, WEXITSTATUS(status));
}

static void write_byte(void *p) { *(volatile char *)p = 'x'; }
static void read_byte(void *p) { _exit(*(volatile char *)p == 'h' ? 7 : 8); }

int main(void) {
    int id = shmget(IPC_PRIVATE, 10000, 0600);
    report("shmget(IPC_PRIVATE, 10000)", id, errno);
    CHECK("shmget(0x5678, 4096, IPC_CREAT|0644)", shmget(0x5678, 4096, IPC_CREAT | 0644));
    CHECK("shmget(0x5678, 8192, 0)", shmget(0x5678, 8192, 0));
    CHECK("shmget(IPC_PRIVATE, 0)", shmget(IPC_PRIVATE, 0, 0600));
    stat_seg(id);

    char *p = shmat(id, NULL, 0);
    show_attach("shmat(id, NULL, 0)", p);
    strcpy(p, "hello");
    strcpy(p + 9000, "far");
    char *q = shmat(id, NULL, SHM_RDONLY);
    show_attach("shmat(id, NULL, SHM_RDONLY)", q);
    printf("  distinct=%d q reads \"%s\" and \"%s\"\n", p != q, q, q + 9000);
    stat_seg(id);
    in_child("child writes through SHM_RDONLY", write_byte, q);
    in_child("child reads through SHM_RDONLY", read_byte, q);
    in_child("child writes through the read-write attachment", write_byte, p + 1);
    printf("  after the child: \"%s\"\n", q);

    /* A message sent from segment memory, received into the read-only attachment. */
    int mq = msgget(IPC_PRIVATE, 0600);
    long *mb = (long *)(p + 4096);
    mb[0] = 3;
    strcpy((char *)(mb + 1), "via shm");
    CHECK("msgsnd(from the segment)", msgsnd(mq, mb, 7, 0));
    CHECK("msgrcv(into SHM_RDONLY memory)", msgrcv(mq, q + 4096, 64, 0, IPC_NOWAIT));
    CHECK("msgsnd(again)", msgsnd(mq, mb, 7, 0));
    CHECK("msgrcv(into the segment)", msgrcv(mq, p + 6000, 64, 0, IPC_NOWAIT));
    printf("  q+6008 reads \"%.7s\"\n", q + 6008);
    msgctl(mq, IPC_RMID, NULL);

    /* Fixed addresses. */
    CHECK("shmat(at p, no SHM_REMAP) == -1", shmat(id, p, 0) == (void *)-1 ? -1 : 0);
    printf("  errno %s\n", strerrorname_np(errno));
    CHECK("shmat(p + 1)", shmat(id, p + 1, 0) == (void *)-1 ? -1 : 0);
    void *r = shmat(id, p, SHM_REMAP);
    printf("shmat(at p, SHM_REMAP) == p: %d\n", r == p);
    printf("  p reads \"%s\"\n", p);
    stat_seg(id);
    CHECK("shmat(NULL, SHM_REMAP)", shmat(id, NULL, SHM_REMAP) == (void *)-1 ? -1 : 0);

    char *own = mmap(NULL, 5 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *spot = (char *)(((uintptr_t)own + 4095) & ~(uintptr_t)4095);
    errno = 0;
    void *clash = shmat(id, spot, 0);
    printf("shmat(over the program's mapping) = %s\n",
           clash == (void *)-1 ? strerrorname_np(errno) : "attached");
    munmap(own, 5 * 4096);
    void *fixed = shmat(id, spot, 0);
    printf("shmat(at a free fixed address) == address: %d\n", fixed == spot);
    printf("  reads \"%s\"\n", (char *)fixed);
    stat_seg(id);
    CHECK("shmdt(fixed)", shmdt(fixed));
    void *back = mmap(spot, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                      -1, 0);
    printf("range free after shmdt: %d\n", back == spot);
    munmap(back, 4096);

    CHECK("shmdt(p + 1)", shmdt(p + 1));
    CHECK("shmdt(own mapping)", shmdt(&id));
    CHECK("shmat(bad id)", shmat(id + 1000, NULL, 0) == (void *)-1 ? -1 : 0);

    struct shmid_ds ds;
    shmctl(id, IPC_STAT, &ds);
    ds.shm_perm.mode = 0640;
    CHECK("shmctl(IPC_SET)", shmctl(id, IPC_SET, &ds));
    CHECK("shmctl(IPC_SET, bad pointer)", shmctl(id, IPC_SET, (void *)8));
    CHECK("shmctl(IPC_STAT, bad pointer)", shmctl(id, IPC_STAT, (void *)8));
    CHECK("shmctl(SHM_LOCK)", shmctl(id, SHM_LOCK, NULL));
    CHECK("shmctl(SHM_UNLOCK)", shmctl(id, SHM_UNLOCK, NULL));
    struct shminfo info;
    CHECK("shmctl(IPC_INFO)", shmctl(0, IPC_INFO, (struct shmid_ds *)&info));
    printf("  shmmax=%lu shmmin=%lu shmmni=%lu shmseg=%lu shmall=%lu\n", info.shmmax,
           info.shmmin, info.shmmni, info.shmseg, info.shmall);
    struct shm_info sinfo;
    CHECK("shmctl(SHM_INFO)", shmctl(0, SHM_INFO, (struct shmid_ds *)&sinfo));
    printf("  used_ids=%d shm_tot=%lu\n", sinfo.used_ids, sinfo.shm_tot);
    CHECK("shmctl(SHM_STAT, 0)", shmctl(0, SHM_STAT, &ds));
    CHECK("shmctl(SHM_STAT_ANY, 1)", shmctl(1, SHM_STAT_ANY, &ds));

    CHECK("shmctl(IPC_RMID) while attached", shmctl(id, IPC_RMID, NULL));
    stat_seg(id);
    CHECK("shmctl(IPC_RMID) again", shmctl(id, IPC_RMID, NULL));
    CHECK("shmdt(p)", shmdt(p));
    CHECK("shmdt(p) again", shmdt(p));
    stat_seg(id);
    CHECK("shmdt(q)", shmdt(q));
    stat_seg(id);

    int k = shmget(0x5678, 0, 0);
    char *a = shmat(k, NULL, 0);
    strcpy(a, "kept");
    CHECK("shmdt(a)", shmdt(a));
    char *b = shmat(k, NULL, SHM_RDONLY);
    printf("reattached reads \"%s\"\n", b);
    shmdt(b);
    CHECK("shmctl(0x5678, IPC_RMID)", shmctl(k, IPC_RMID, NULL));
    return 0;
}
