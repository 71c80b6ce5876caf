/* test-rv-disasm.c - rv_disasm against riscv64-linux-gnu-objdump -d.
 *
 * Cross-compiles guest programs of tests/guest (integer, FP, atomics),
 * disassembles them with objdump and checks that rv_disasm prints every
 * instruction the same way (symbol names <...> and # comments dropped).
 * Skipped (77) when the cross tools are missing.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "riscv/riscv.h"
#include "unit.h"

static int compare(const char *src, const char *flags)
{
    char dir[] = "/tmp/emu-disasm.XXXXXX";
    if (!mkdtemp(dir))
        return -1;
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "riscv64-linux-gnu-gcc -O2 %s -c -o %s/t.o %s/%s >/dev/null 2>&1 && "
             "riscv64-linux-gnu-objdump -d %s/t.o", flags, dir, GUEST_DIR, src, dir);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char line[512];
    int n = 0, bad = 0;
    while (fgets(line, sizeof(line), p)) {
        /* "   1c:\t00a50533          \tadd\ta0,a0,a0 # comment" */
        unsigned long addr;
        char hex[16];
        int off = 0;
        if (sscanf(line, " %lx:\t%15[0-9a-f]%n", &addr, hex, &off) != 2 || line[off] != ' ')
            continue;
        char *text = strchr(line + off, '\t');
        if (!text)
            continue;
        text++;
        text[strcspn(text, "\n")] = 0;
        char *c = strstr(text, " #");
        if (c)
            *c = 0;
        c = strstr(text, " <");
        if (c)
            *c = 0;
        size_t l = strlen(text);
        while (l && text[l - 1] == ' ')
            text[--l] = 0;
        uint32_t raw = (uint32_t)strtoul(hex, NULL, 16);
        char got[128];
        rv_disasm(got, sizeof(got), addr, raw, strlen(hex) == 4 ? 2 : 4, RV_EXT_ALL);
        n++;
        if (strcmp(got, text)) {
            if (bad++ < 40)
                fprintf(stderr, "%s %lx %s: objdump '%s', ours '%s'\n", src, addr, hex, text, got);
        }
    }
    pclose(p);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        return -1;
    fprintf(stderr, "%s: %d instructions, %d differ\n", src, n, bad);
    CHECK(n > 100);
    CHECK(bad == 0);
    return 0;
}

int main(void)
{
    if (system("riscv64-linux-gnu-gcc --version >/dev/null 2>&1") != 0 ||
        system("riscv64-linux-gnu-objdump --version >/dev/null 2>&1") != 0)
        return 77;
    compare("int.c", "");
    compare("fp.c", "");
    compare("atomics.c", "");
    compare("rvsem.c", "-march=rv64gc_zba_zbb_zbs");
    return unit_result();
}
