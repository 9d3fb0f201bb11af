#include "mapped_files.h"

#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

enum { SLOTS = 64, PATH_BYTES = 1024 };

/* Written before the handler can see them (registration happens before any read of the mapping);
   a slot is live while its length is non-zero. */
static struct {
    volatile uintptr_t start;
    volatile size_t length;
    char path[PATH_BYTES];
} slots[SLOTS];
static volatile sig_atomic_t installed;

static void say(const char *text) {
    size_t left = strlen(text);
    while (left > 0) {
        ssize_t n = write(2, text, left);
        if (n <= 0) return;
        text += n;
        left -= (size_t)n;
    }
}

static void on_sigbus(int signal_number, siginfo_t *info, void *context) {
    (void)context;
    uintptr_t address = (uintptr_t)info->si_addr;
    for (int i = 0; i < SLOTS; i++) {
        size_t length = slots[i].length;
        if (length != 0 && address >= slots[i].start && address - slots[i].start < length) {
            say("rnntrain: ");
            say(slots[i].path);
            say(": shrank while this run had it mapped (truncated or replaced in place?); "
                "the tokens it read are gone, so the run stops; the checkpoints written so far are intact\n");
            _exit(2);
        }
    }
    /* Not one of ours: the default action, as if no handler were installed. */
    signal(signal_number, SIG_DFL);
    raise(signal_number);
}

int rk_mapped_register(const void *start, size_t length, const char *path) {
    if (!installed) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_sigaction = on_sigbus;
        action.sa_flags = SA_SIGINFO;
        sigemptyset(&action.sa_mask);
        if (sigaction(SIGBUS, &action, NULL) != 0) return -1;
        installed = 1;
    }
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].length == 0) {
            strncpy(slots[i].path, path, PATH_BYTES - 1);
            slots[i].path[PATH_BYTES - 1] = '\0';
            slots[i].start = (uintptr_t)start;
            slots[i].length = length;
            return 0;
        }
    }
    return -1;
}

void rk_mapped_unregister(const void *start) {
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].length != 0 && slots[i].start == (uintptr_t)start) slots[i].length = 0;
    }
}
