/* graph.c - integer: Dijkstra with a binary heap and BFS on a random
 * sparse graph (CSR). */
#include "bench.h"

int main(int argc, char **argv)
{
    int n = 300000, deg = 8;
    int rounds = (int)(5 * bench_scale(argc, argv)) + 1;
    int *off = malloc((n + 1) * sizeof(int)), *adj = malloc((size_t)n * deg * sizeof(int));
    int *w = malloc((size_t)n * deg * sizeof(int));
    for (int i = 0; i <= n; i++) off[i] = i * deg;
    for (long i = 0; i < (long)n * deg; i++) { adj[i] = (int)(bench_rand() % n); w[i] = 1 + (int)(bench_rand() % 100); }
    long *dist = malloc(n * sizeof(long));
    int *heap = malloc((size_t)n * deg * sizeof(int) + 64);
    long *hkey = malloc((size_t)n * deg * sizeof(long) + 64);
    int *queue = malloc(n * sizeof(int));
    unsigned long long sum = 0;
    for (int r = 0; r < rounds; r++) {
        int src = (int)(bench_rand() % n);
        for (int i = 0; i < n; i++) dist[i] = -1;
        int hn = 0;
        heap[hn] = src; hkey[hn++] = 0;
        while (hn) {
            int u = heap[0];
            long du = hkey[0];
            hn--;
            int i = 0;
            while (1) {   /* sift down the last element */
                int c = 2 * i + 1;
                if (c >= hn) break;
                if (c + 1 < hn && hkey[c + 1] < hkey[c]) c++;
                if (hkey[c] >= hkey[hn]) break;
                heap[i] = heap[c]; hkey[i] = hkey[c]; i = c;
            }
            heap[i] = heap[hn]; hkey[i] = hkey[hn];
            if (dist[u] >= 0) continue;
            dist[u] = du;
            for (int e = off[u]; e < off[u + 1]; e++) {
                int v = adj[e];
                if (dist[v] >= 0) continue;
                int k = hn++;
                long key = du + w[e];
                while (k > 0 && hkey[(k - 1) / 2] > key) { heap[k] = heap[(k - 1) / 2]; hkey[k] = hkey[(k - 1) / 2]; k = (k - 1) / 2; }
                heap[k] = v; hkey[k] = key;
            }
        }
        for (int i = 0; i < n; i += 97) sum += (unsigned long long)(dist[i] + 1);
        /* BFS levels */
        for (int i = 0; i < n; i++) dist[i] = -1;
        int qh = 0, qt = 0;
        queue[qt++] = src; dist[src] = 0;
        while (qh < qt) {
            int u = queue[qh++];
            for (int e = off[u]; e < off[u + 1]; e++)
                if (dist[adj[e]] < 0) { dist[adj[e]] = dist[u] + 1; queue[qt++] = adj[e]; }
        }
        sum += (unsigned long long)qt + (unsigned long long)dist[queue[qt - 1]];
    }
    printf("graph: %llu\n", sum);
    return 0;
}
