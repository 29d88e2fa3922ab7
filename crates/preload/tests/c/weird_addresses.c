/* shmat at addresses near the ends of the address space, with each flag: the order of the
 * kernel's checks (wrap-around EINVAL, past TASK_SIZE ENOMEM, low addresses); under the
 * library, fixed addresses outside its reservation. */
#include "common.h"

int main(void) {
    int id = shmget(IPC_PRIVATE, 8192, 0600);
    uintptr_t addrs[] = {(uintptr_t)-4096,  (uintptr_t)-8192, 0x7ffffffff000, 0x7fffffffe000,
                         0x7ffffffe0000,    0x800000000000,   0x1000,         0x10000,
                         0x7ffffffff001,    1};
    int flags[] = {0, SHM_REMAP, SHM_RND, SHM_RDONLY | SHM_EXEC, SHM_RND | SHM_REMAP};
    for (unsigned i = 0; i < sizeof addrs / sizeof *addrs; i++) {
        for (unsigned f = 0; f < sizeof flags / sizeof *flags; f++) {
            /* SHM_REMAP replaces whatever is mapped there: only where nothing can be. */
            if (addrs[i] == 0x7ffffffe0000 && (flags[f] & SHM_REMAP))
                continue;
            errno = 0;
            void *p = shmat(id, (void *)addrs[i], flags[f]);
            printf("shmat(%#lx, flags %#x) = %s\n", (unsigned long)addrs[i], flags[f],
                   p == (void *)-1 ? strerrorname_np(errno)
                                   : (p == (void *)addrs[i] ? "that address" : "another address"));
            if (p != (void *)-1)
                CHECK("  shmdt", shmdt(p));
        }
    }
    struct shmid_ds ds;
    shmctl(id, IPC_STAT, &ds);
    printf("nattch=%lu\n", (unsigned long)ds.shm_nattch);
    shmctl(id, IPC_RMID, NULL);
    return 0;
}
