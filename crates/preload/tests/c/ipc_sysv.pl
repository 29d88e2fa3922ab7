#!/usr/bin/perl
# Perl's IPC::SysV modules (IPC::Msg, IPC::Semaphore, IPC::SharedMem, shipped with perl)
# driving all three mechanisms: a client no one here wrote. Prints only values that do not
# depend on pids, times or addresses.
use strict;
use warnings;
use IPC::SysV qw(IPC_PRIVATE IPC_CREAT IPC_EXCL IPC_NOWAIT S_IRUSR S_IWUSR SEM_UNDO
                 MSG_NOERROR ftok);
use IPC::Msg;
use IPC::Semaphore;
use IPC::SharedMem;

$| = 1;
sub err { my $e = $! + 0; return $e ? "errno $e" : "ok" }

my $q = IPC::Msg->new(IPC_PRIVATE, S_IRUSR | S_IWUSR) or die "msgget: $!";
print "queue id ", $q->id, "\n";
for my $t (3, 1, 2) {
    print "snd $t: ", ($q->snd($t, "message $t") ? "ok" : err()), "\n";
}
my $buf;
my $type = $q->rcv($buf, 64, -2);
print "rcv -2: type $type '$buf'\n";
$type = $q->rcv($buf, 64, 0);
print "rcv 0: type $type '$buf'\n";
$type = $q->rcv($buf, 4, 0, MSG_NOERROR);
print "rcv truncated: type $type '$buf'\n";
$! = 0;
my $none = $q->rcv($buf, 64, 0, IPC_NOWAIT);
print "rcv empty: ", (defined $none ? "got" : err()), "\n";
my $ds = $q->stat;
printf "msg stat: mode %o qnum %d qbytes %d\n", $ds->mode & 0777, $ds->qnum, $ds->qbytes;
$q->set(qbytes => 1000) or print "set: ", err(), "\n";
printf "qbytes after set: %d\n", $q->stat->qbytes;
my $q2 = IPC::Msg->new(0x2468, IPC_CREAT | S_IRUSR | S_IWUSR) or die;
print "keyed queue id ", $q2->id, "\n";
$! = 0;
my $dup = IPC::Msg->new(0x2468, IPC_CREAT | IPC_EXCL | S_IRUSR);
print "exclusive again: ", (defined $dup ? "created" : err()), "\n";
print "remove: ", ($q->remove ? "ok" : err()), "\n";
$q2->remove;

my $s = IPC::Semaphore->new(IPC_PRIVATE, 4, S_IRUSR | S_IWUSR | IPC_CREAT) or die "semget: $!";
print "set id ", $s->id, "\n";
$s->setall(1, 2, 3, 4) or print "setall: ", err(), "\n";
print "getall: ", join(",", $s->getall), "\n";
$s->op(0, -1, 0, 1, 2, SEM_UNDO) or print "op: ", err(), "\n";
print "after op: ", join(",", $s->getall), "\n";
$! = 0;
my $r = $s->op(0, -1, IPC_NOWAIT);
print "would block: ", ($r ? "ok" : err()), "\n";
$s->setval(3, 9);
print "getval 3: ", $s->getval(3), "\n";
print "getncnt 0: ", $s->getncnt(0), " getzcnt 0: ", $s->getzcnt(0), "\n";
my $sds = $s->stat;
printf "sem stat: mode %o nsems %d\n", $sds->mode & 0777, $sds->nsems;
$s->set(mode => 0640);
printf "mode after set: %o\n", $s->stat->mode & 0777;
print "remove: ", ($s->remove ? "ok" : err()), "\n";

my $m = IPC::SharedMem->new(IPC_PRIVATE, 8192, S_IRUSR | S_IWUSR) or die "shmget: $!";
print "segment id ", $m->id, "\n";
$m->write("hello, world", 0, 12) or print "write: ", err(), "\n";
print "read: '", $m->read(0, 12), "'\n";
$m->write("again", 5000, 5);
print "read far: '", $m->read(5000, 5), "'\n";
my $mds = $m->stat;
printf "shm stat: mode %o segsz %d nattch %d\n", $mds->mode & 0777, $mds->segsz, $mds->nattch;
$m->attach or print "attach: ", err(), "\n";
print "attached read: '", $m->read(0, 5), "'\n";
printf "nattch attached: %d\n", $m->stat->nattch;
$m->detach;
printf "nattch detached: %d\n", $m->stat->nattch;
print "remove: ", ($m->remove ? "ok" : err()), "\n";
$! = 0;
my $gone = $m->stat;
print "stat after remove: ", (defined $gone ? "found" : err()), "\n";
