// functrace: runs a program under ptrace with a breakpoint on the first byte of every function of its executable
// and writes the names of the functions it entered, in the order they were first entered, one per line (an lld
// --symbol-ordering-file). Each breakpoint is removed when first hit, so the program runs at nearly full speed.
//
//   functrace TERM|KILL SECONDS FUNCTIONS OUTPUT PROGRAM [ARGS...]
//
// FUNCTIONS holds "hex-address name" lines (`nm --defined-only` of PROGRAM, a position-independent executable;
// symbols outside its executable mappings are ignored). After SECONDS the program is sent SIGTERM (and killed one
// second later) or killed at once.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct { uint64_t address; char *name; } Function;

static Function *functions;
static size_t count;
static unsigned char *original; // each function's first byte
static unsigned char *armed;    // whether it got a breakpoint (it lies in a text mapping; first of its aliases)
static size_t *firstHits;        // function indexes in order of first entry
static unsigned char *hit;
static size_t hits;

static int byAddress(const void *a, const void *b) {
    uint64_t x = ((const Function *)a)->address, y = ((const Function *)b)->address;
    return x < y ? -1 : x > y;
}

static long find(uint64_t address) {
    size_t low = 0, high = count;
    while (low < high) {
        size_t middle = (low + high) / 2;
        if (functions[middle].address < address) low = middle + 1; else high = middle;
    }
    return low < count && functions[low].address == address ? (long)low : -1;
}

static void fail(const char *what) { perror(what); exit(1); }

static volatile sig_atomic_t alarms;

/// Counts the seconds past the deadline (re-arming itself), interrupting the wait for the traced program.
static void onAlarm(int signal) {
    (void)signal;
    alarms++;
    alarm(1);
}

/// Reads or writes all of [address, address + length) of the traced program's memory.
static void transfer(int memory, unsigned char *buffer, size_t length, uint64_t address, int write) {
    while (length > 0) {
        ssize_t done = write ? pwrite(memory, buffer, length, address) : pread(memory, buffer, length, address);
        if (done <= 0) fail(write ? "write text" : "read text");
        buffer += done, length -= (size_t)done, address += (uint64_t)done;
    }
}

typedef struct { uint64_t start, end, bias; } Text;

/// The executable mappings of the program's own file, and its load bias (where its file offset 0 is mapped).
static size_t textMappings(pid_t pid, Text *texts, size_t capacity) {
    char path[64], exe[4096], line[8192];
    snprintf(path, sizeof path, "/proc/%d/exe", pid);
    ssize_t length = readlink(path, exe, sizeof exe - 1);
    if (length < 0) fail("readlink");
    exe[length] = 0;
    snprintf(path, sizeof path, "/proc/%d/maps", pid);
    FILE *maps = fopen(path, "r");
    if (!maps) fail("maps");
    uint64_t bias = 0;
    size_t found = 0;
    while (fgets(line, sizeof line, maps)) {
        unsigned long start, end, offset;
        char permissions[8], file[4096] = "";
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %4095s", &start, &end, permissions, &offset, file) < 4 || strcmp(file, exe) != 0) continue;
        if (offset == 0) bias = start;
        if (strchr(permissions, 'x') && found < capacity) texts[found++] = (Text){start, end, 0};
    }
    fclose(maps);
    if (found == 0) { fprintf(stderr, "functrace: %s has no executable mapping\n", exe); exit(1); }
    for (size_t index = 0; index < found; index++) texts[index].bias = bias;
    return found;
}

int main(int argc, char **argv) {
    if (argc < 6 || (strcmp(argv[1], "TERM") != 0 && strcmp(argv[1], "KILL") != 0)) {
        fprintf(stderr, "usage: functrace TERM|KILL SECONDS FUNCTIONS OUTPUT PROGRAM [ARGS...]\n");
        return 2;
    }
    int stopSignal = strcmp(argv[1], "KILL") == 0 ? SIGKILL : SIGTERM;
    int seconds = atoi(argv[2]);
    FILE *list = fopen(argv[3], "r");
    if (!list) fail(argv[3]);
    size_t capacity = 1 << 16;
    functions = malloc(capacity * sizeof *functions);
    char line[65536];
    while (fgets(line, sizeof line, list)) {
        char name[65536];
        unsigned long address;
        if (sscanf(line, "%lx %65535s", &address, name) != 2) continue;
        if (count == capacity) functions = realloc(functions, (capacity *= 2) * sizeof *functions);
        functions[count++] = (Function){address, strdup(name)};
    }
    fclose(list);
    qsort(functions, count, sizeof *functions, byAddress);
    original = malloc(count);
    armed = calloc(count, 1);
    hit = calloc(count, 1);
    firstHits = malloc(count * sizeof *firstHits);

    pid_t child = fork();
    if (child == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        execv(argv[5], argv + 5);
        fail("execv");
    }
    int status;
    if (waitpid(child, &status, 0) < 0 || !WIFSTOPPED(status)) fail("exec");
    ptrace(PTRACE_SETOPTIONS, child, 0, PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL);
    Text texts[16];
    size_t textCount = textMappings(child, texts, 16);
    uint64_t bias = texts[0].bias;

    // Every breakpoint at once: read each text mapping, mark the entries in it, write it back (a tracer may write
    // read-only text). Symbols outside them (none in practice) get no breakpoint.
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", child);
    int memory = open(path, O_RDWR);
    if (memory < 0) fail("mem");
    for (size_t mapping = 0; mapping < textCount; mapping++) {
        size_t size = texts[mapping].end - texts[mapping].start;
        unsigned char *text = malloc(size);
        transfer(memory, text, size, texts[mapping].start, 0);
        for (size_t index = 0; index < count; index++) {
            uint64_t address = functions[index].address + bias;
            if (address < texts[mapping].start || address >= texts[mapping].end) continue;
            if (index > 0 && functions[index - 1].address == functions[index].address) continue;
            armed[index] = 1;
            original[index] = text[address - texts[mapping].start];
            text[address - texts[mapping].start] = 0xCC;
        }
        transfer(memory, text, size, texts[mapping].start, 1);
        free(text);
    }

    struct sigaction action = {0};
    action.sa_handler = onAlarm; // no SA_RESTART: the alarm ends a wait
    sigaction(SIGALRM, &action, NULL);
    alarm(seconds);
    int signalled = 0;
    ptrace(PTRACE_CONT, child, 0, 0);
    for (;;) {
        if (alarms > signalled) { // the deadline, then every second after it
            kill(child, signalled == 0 ? stopSignal : SIGKILL);
            signalled = alarms;
        }
        pid_t pid = waitpid(-1, &status, __WALL);
        if (pid < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            if (pid == child) break;
            continue;
        }
        int delivered = WSTOPSIG(status);
        if (status >> 16 != 0 || delivered == SIGSTOP) { // a new thread, or its first stop
            ptrace(PTRACE_CONT, pid, 0, 0);
            continue;
        }
        if (delivered == SIGTRAP) {
            struct user_regs_struct registers;
            ptrace(PTRACE_GETREGS, pid, 0, &registers);
            long index = find(registers.rip - 1 - bias);
            if (index >= 0 && armed[index]) {
                if (!hit[index]) {
                    hit[index] = 1;
                    firstHits[hits++] = (size_t)index;
                    if (pwrite(memory, &original[index], 1, registers.rip - 1) != 1) fail("restore");
                }
                registers.rip -= 1; // another thread may have trapped here before the byte was restored
                ptrace(PTRACE_SETREGS, pid, 0, &registers);
                delivered = 0;
            }
        }
        ptrace(PTRACE_CONT, pid, 0, delivered);
    }

    FILE *output = fopen(argv[4], "w");
    if (!output) fail(argv[4]);
    for (size_t n = 0; n < hits; n++) {
        size_t index = firstHits[n];
        // Aliases share an address (and a section): name them all.
        while (index > 0 && functions[index - 1].address == functions[index].address) index--;
        for (; index < count && functions[index].address == functions[firstHits[n]].address; index++) {
            fprintf(output, "%s\n", functions[index].name);
        }
    }
    fclose(output);
    fprintf(stderr, "functrace: %zu of %zu functions entered\n", hits, count);
    return 0;
}
