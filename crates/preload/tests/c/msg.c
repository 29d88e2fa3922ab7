/* Message queues: every msg call, its errors and the stat fields. */
#include "common.h"

struct msg {
    long mtype;
    char mtext[64];
};

static void stat_queue(int id) {
    struct msqid_ds ds;
    CHECK("msgctl(IPC_STAT)", msgctl(id, IPC_STAT, &ds));
    printf("  mode=%o uid=%u gid=%u cuid=%u cgid=%u key=%d qnum=%lu cbytes=%lu qbytes=%lu\n",
           ds.msg_perm.mode, ds.msg_perm.uid, ds.msg_perm.gid, ds.msg_perm.cuid,
           ds.msg_perm.cgid, ds.msg_perm.__key, (unsigned long)ds.msg_qnum,
           (unsigned long)ds.__msg_cbytes, (unsigned long)ds.msg_qbytes);
    printf("  lspid=%s lrpid=%s stime=%s rtime=%s ctime=%s\n", who(ds.msg_lspid),
           who(ds.msg_lrpid), ds.msg_stime ? "set" : "0", ds.msg_rtime ? "set" : "0",
           ds.msg_ctime ? "set" : "0");
}

static void send(int id, long type, const char *text, int flags) {
    struct msg m = {type, {0}};
    strcpy(m.mtext, text);
    char what[80];
    snprintf(what, sizeof what, "msgsnd(type %ld, \"%s\")", type, text);
    CHECK(what, msgsnd(id, &m, strlen(text), flags));
}

static void recv(int id, size_t size, long type, int flags) {
    struct msg m;
    memset(&m, 0, sizeof m);
    char what[80];
    snprintf(what, sizeof what, "msgrcv(size %zu, type %ld, flags %#x)", size, type, flags);
    errno = 0;
    ssize_t n = msgrcv(id, &m, size, type, flags);
    report(what, n, errno);
    if (n >= 0)
        printf("  mtype=%ld text=\"%.*s\"\n", m.mtype, (int)n, m.mtext);
}

int main(void) {
    int priv = msgget(IPC_PRIVATE, 0600);
    report("msgget(IPC_PRIVATE)", priv, errno);
    CHECK("msgget(0x1234, IPC_CREAT|0640)", msgget(0x1234, IPC_CREAT | 0640));
    CHECK("msgget(0x1234, 0)", msgget(0x1234, 0));
    CHECK("msgget(0x1234, IPC_CREAT|IPC_EXCL)", msgget(0x1234, IPC_CREAT | IPC_EXCL | 0640));
    CHECK("msgget(0x999, 0)", msgget(0x999, 0));
    stat_queue(priv);

    send(priv, 1, "one", 0);
    send(priv, 2, "two", 0);
    send(priv, 3, "three", 0);
    send(priv, 1, "uno", 0);
    send(priv, 0, "bad type", 0);
    CHECK("msgsnd(bad pointer)", msgsnd(priv, (void *)8, 4, 0));
    CHECK("msgsnd(size -1)", msgsnd(priv, "xxxxxxxx", (size_t)-1, 0));
    CHECK("msgsnd(bad id)", msgsnd(12345, "xxxxxxxx", 1, 0));
    stat_queue(priv);

    recv(priv, 64, 2, 0);
    recv(priv, 64, -3, 0);
    recv(priv, 64, 1, MSG_EXCEPT);
    recv(priv, 2, 0, 0);
    recv(priv, 2, 0, MSG_NOERROR);
    recv(priv, 64, 7, IPC_NOWAIT);
    recv(priv, 64, 0, IPC_NOWAIT);
    send(priv, 4, "lost", 0);
    CHECK("msgrcv(into a bad pointer)", msgrcv(priv, (void *)8, 64, 0, 0));
    recv(priv, 64, 0, IPC_NOWAIT);
    CHECK("msgrcv(MSG_COPY without IPC_NOWAIT)", msgrcv(priv, (void *)8, 64, 0, 040000));
    stat_queue(priv);

    struct msqid_ds ds;
    msgctl(priv, IPC_STAT, &ds);
    ds.msg_perm.mode = 0604;
    ds.msg_qbytes = 100;
    CHECK("msgctl(IPC_SET)", msgctl(priv, IPC_SET, &ds));
    stat_queue(priv);
    CHECK("msgctl(IPC_SET, bad pointer)", msgctl(priv, IPC_SET, (void *)8));
    CHECK("msgctl(IPC_STAT, bad pointer)", msgctl(priv, IPC_STAT, (void *)8));
    CHECK("msgctl(IPC_STAT|IPC_64)", msgctl(priv, IPC_STAT | 0x100, &ds));
    CHECK("msgctl(cmd 99)", msgctl(priv, 99, &ds));

    struct msginfo info;
    CHECK("msgctl(IPC_INFO)", msgctl(0, IPC_INFO, (struct msqid_ds *)&info));
    printf("  msgmax=%d msgmnb=%d msgmni=%d msgpool=%d msgmap=%d msgtql=%d\n", info.msgmax,
           info.msgmnb, info.msgmni, info.msgpool, info.msgmap, info.msgtql);
    send(priv, 5, "five", 0);
    CHECK("msgctl(MSG_INFO)", msgctl(0, MSG_INFO, (struct msqid_ds *)&info));
    printf("  msgpool=%d msgmap=%d msgtql=%d\n", info.msgpool, info.msgmap, info.msgtql);
    CHECK("msgctl(MSG_STAT, 0)", msgctl(0, MSG_STAT, &ds));
    CHECK("msgctl(MSG_STAT, 1)", msgctl(1, MSG_STAT, &ds));
    CHECK("msgctl(MSG_STAT_ANY, 5)", msgctl(5, MSG_STAT_ANY, &ds));

    CHECK("msgctl(IPC_RMID)", msgctl(priv, IPC_RMID, NULL));
    CHECK("msgctl(IPC_RMID) again", msgctl(priv, IPC_RMID, NULL));
    send(priv, 1, "gone", 0);
    int again = msgget(IPC_PRIVATE, 0600);
    report("msgget(IPC_PRIVATE) after a removal", again, errno);
    return 0;
}
