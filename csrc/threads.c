/* threads.c — worker threads for independent core operations (the `threads` configuration key).

   _nr_parallel(m, n, fn, ctx) runs fn(ctx, 0 … n−1) on up to `threads` host threads, the caller
   included, and returns when every item is done.  Items must be independent: each writes only
   its own core (or its own rows) and reads what no other item writes, and whatever the caller
   combines afterwards it combines in item order.  Every random draw is keyed by (seed, core,
   event, cell), so the results are the same for any thread count, including 1.

   One pool serves the process.  Workers spin briefly after a job (an MVM wave issues the next
   job a few microseconds later) and then sleep on a condition variable.  A second machine that
   finds the pool busy (another Python thread) runs its items on its own thread: slower, never
   different. */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "nr_private.h"

#define _NR_POOL_MAX 64          /* worker threads at most (plus the caller) */
#define _NR_SPIN 20000           /* polls of a job counter before a worker sleeps */
#define _NR_ITEM_BITS 20         /* items of one job: fewer than 2^20 (more run on the caller) */
#define _NR_ITEM_MASK ((UINT64_C(1) << _NR_ITEM_BITS) - 1)

/* A job's items are claimed from one atomic word, (tag << 40) | (n << 20) | next item, by
   compare-and-swap: a worker that saw an old job and is scheduled again late can only claim an
   item of the job whose tag it holds, so it never runs a stale index with the next job's
   function or context, and the caller rewrites fn and ctx only after every item of the job
   has been claimed and done. */
static struct {
    pthread_mutex_t lock;        /* guards creation, sleep and wake-up */
    pthread_cond_t wake;
    pthread_mutex_t busy;        /* held by the caller of the running job */
    int started;                 /* workers created */
    atomic_uint_fast64_t gen;    /* job generation: a worker runs each generation once */
    atomic_uint_fast64_t claim;  /* the running job's tag, item count and next item */
    atomic_int done;
    int want;                    /* workers wanted for the job */
    _nr_task_fn fn;
    void *ctx;
} _nr_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_MUTEX_INITIALIZER};

static inline uint64_t _nr_tag_of(uint64_t gen) { return gen & ((UINT64_C(1) << 24) - 1); }

/* the next item of job `tag`, or 0 when it has none left (or another job runs) */
static int _nr_claim(uint64_t tag, int *item)
{
    uint_fast64_t v = atomic_load(&_nr_pool.claim);
    for (;;) {
        const uint64_t i = v & _NR_ITEM_MASK, n = v >> _NR_ITEM_BITS & _NR_ITEM_MASK;
        if ((v >> (2 * _NR_ITEM_BITS)) != tag || i >= n) return 0;
        if (atomic_compare_exchange_weak(&_nr_pool.claim, &v, v + 1)) {
            *item = (int)i;
            return 1;
        }
    }
}

/* read once: sysconf reads /sys on every call (microseconds), and _nr_parallel asks per job */
int nr_host_threads(void)
{
    static atomic_int cached;
    int n = atomic_load(&cached);
    if (n == 0) {
        const long s = sysconf(_SC_NPROCESSORS_ONLN);
        n = s < 1 ? 1 : s > _NR_POOL_MAX + 1 ? _NR_POOL_MAX + 1 : (int)s;
        atomic_store(&cached, n);
    }
    return n;
}

static void _nr_drain(uint64_t tag)
{
    int i;
    while (_nr_claim(tag, &i)) {
        _nr_pool.fn(_nr_pool.ctx, i);   /* fn, ctx stay this job's until all its items are done */
        atomic_fetch_add(&_nr_pool.done, 1);
    }
}

static void *_nr_worker(void *arg)
{
    const int rank = (int)(intptr_t)arg;
    uint64_t seen = 0;
    for (;;) {
        uint64_t g;
        int spins = 0;
        while ((g = atomic_load(&_nr_pool.gen)) == seen && spins < _NR_SPIN) spins++;
        if (g == seen) {
            pthread_mutex_lock(&_nr_pool.lock);
            while ((g = atomic_load(&_nr_pool.gen)) == seen) pthread_cond_wait(&_nr_pool.wake, &_nr_pool.lock);
            pthread_mutex_unlock(&_nr_pool.lock);
        }
        seen = g;
        /* only the workers the job asked for take part; the others wait for the next one */
        if (rank < _nr_pool.want) _nr_drain(_nr_tag_of(g));
    }
    return NULL;
}

uint64_t nr_host_ahead(const nr_machine *m) { return m->host_ahead; }

int _nr_threads_for(const nr_machine *m)
{
    int t = m->cfg.threads ? (int)m->cfg.threads : nr_host_threads();
    return t > _NR_POOL_MAX + 1 ? _NR_POOL_MAX + 1 : t;
}

void _nr_parallel(const nr_machine *m, int n, _nr_task_fn fn, void *ctx)
{
    int t = _nr_threads_for(m);
    if (t > n) t = n;
    if (t <= 1 || (uint64_t)n > _NR_ITEM_MASK || pthread_mutex_trylock(&_nr_pool.busy) != 0) {
        for (int i = 0; i < n; i++) fn(ctx, i);
        return;
    }
    pthread_mutex_lock(&_nr_pool.lock);
    while (_nr_pool.started < t - 1) {
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&th, &at, _nr_worker, (void *)(intptr_t)_nr_pool.started);
        pthread_attr_destroy(&at);
        if (rc != 0) break;
        _nr_pool.started++;
    }
    /* the previous job's items are all done (its caller waited for them), so nothing reads
       fn and ctx now; the job becomes claimable with the store of its tag */
    const uint64_t g = atomic_load(&_nr_pool.gen) + 1, tag = _nr_tag_of(g);
    _nr_pool.fn = fn;
    _nr_pool.ctx = ctx;
    _nr_pool.want = t - 1 < _nr_pool.started ? t - 1 : _nr_pool.started;
    atomic_store(&_nr_pool.done, 0);
    atomic_store(&_nr_pool.claim, tag << (2 * _NR_ITEM_BITS) | (uint64_t)n << _NR_ITEM_BITS);
    atomic_store(&_nr_pool.gen, g);
    pthread_cond_broadcast(&_nr_pool.wake);
    pthread_mutex_unlock(&_nr_pool.lock);
    _nr_drain(tag);
    while (atomic_load(&_nr_pool.done) < n) { }
    pthread_mutex_unlock(&_nr_pool.busy);
}
