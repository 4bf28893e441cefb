/*
 * The physical floor for reading a Jekyll site's posts: the simplest fast code that
 * touches every byte gazette must read, and nothing more.
 *
 *     cc -O2 -pthread -o floor bench/floor.c && ./floor SITE
 *
 * Lists SITE/_posts (opendir/readdir, one level: the benchmark corpus is flat), splits the
 * list in two halves and gives each to a thread, which opens each file, reads it whole
 * (one buffer per thread, grown as needed) and finds the end of its front matter (the
 * first "\n---\n" after the opening "---\n") with memmem. Prints the number of files,
 * bytes and files with front matter. No parsing, no sorting, no output files: anything
 * that really reads posts and writes feeds should be slower than this.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define THREADS 2

struct job {
    char **paths;
    size_t count;
    unsigned long long bytes;
    size_t with_front_matter;
    int failed;
};

static void *work(void *arg) {
    struct job *job = arg;
    size_t cap = 1 << 16;
    char *buf = malloc(cap);
    if (!buf) { job->failed = 1; return NULL; }
    for (size_t i = 0; i < job->count; i++) {
        int fd = open(job->paths[i], O_RDONLY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) { perror(job->paths[i]); job->failed = 1; continue; }
        size_t want = (size_t)st.st_size + 1;
        if (want > cap) {
            while (cap < want) cap *= 2;
            free(buf);
            buf = malloc(cap);
            if (!buf) { job->failed = 1; close(fd); return NULL; }
        }
        size_t len = 0;
        for (;;) { /* read to EOF, whatever fstat said */
            if (len == cap) {
                char *grown = realloc(buf, cap * 2);
                if (!grown) { job->failed = 1; break; }
                buf = grown;
                cap *= 2;
            }
            ssize_t n = read(fd, buf + len, cap - len);
            if (n < 0) { perror(job->paths[i]); job->failed = 1; break; }
            if (n == 0) break;
            len += (size_t)n;
        }
        close(fd);
        job->bytes += len;
        if (len >= 4 && memcmp(buf, "---\n", 4) == 0 && memmem(buf + 3, len - 3, "\n---\n", 5))
            job->with_front_matter++;
    }
    free(buf);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s SITE\n", argv[0]);
        return 2;
    }
    size_t dlen = strlen(argv[1]) + sizeof "/_posts";
    char *dir = malloc(dlen);
    snprintf(dir, dlen, "%s/_posts", argv[1]);
    DIR *d = opendir(dir);
    if (!d) { perror(dir); return 1; }

    size_t count = 0, cap = 1024;
    char **paths = malloc(cap * sizeof *paths);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN) continue;
        if (count == cap) { cap *= 2; paths = realloc(paths, cap * sizeof *paths); }
        size_t n = strlen(dir) + 1 + strlen(e->d_name) + 1;
        paths[count] = malloc(n);
        snprintf(paths[count], n, "%s/%s", dir, e->d_name);
        count++;
    }
    closedir(d);

    struct job jobs[THREADS];
    pthread_t threads[THREADS];
    size_t from = 0;
    for (int t = 0; t < THREADS; t++) {
        size_t n = count / THREADS + ((size_t)t < count % THREADS);
        jobs[t] = (struct job){ .paths = paths + from, .count = n };
        from += n;
        if (pthread_create(&threads[t], NULL, work, &jobs[t]) != 0) { perror("pthread_create"); return 1; }
    }
    unsigned long long bytes = 0;
    size_t fm = 0;
    int failed = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        bytes += jobs[t].bytes;
        fm += jobs[t].with_front_matter;
        failed |= jobs[t].failed;
    }
    printf("%zu files, %llu bytes, %zu with front matter\n", count, bytes, fm);
    return failed ? 1 : 0;
}
