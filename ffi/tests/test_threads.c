/* Many pthreads race through the C ABI for a few places on one shared engine handle. Whatever
 * the interleaving, the number of successful bookings equals the places (never more: no
 * overbooking), every slot's takings equal its capacity, and every failure is a clean
 * HY_SLOT_FULL or HY_LIMIT_REACHED. An events reader polls at the same time. */
#include <pthread.h>
#include <sched.h>

#include "test_common.h"

enum { THREADS = 8, PATIENTS_PER_THREAD = 60, SLOTS = 6, CAPACITY = 3, ROUNDS = 3 };

typedef struct {
    region *r;
    hy_slot_id first;
    int index;
    hy_patient_id patients[PATIENTS_PER_THREAD];
    int booked, full, limited, other;
    hy_booking_id ids[PATIENTS_PER_THREAD];
} worker;

static void *race(void *arg) {
    worker *w = arg;
    /* Half the threads go one request at a time, half in one bulk call. */
    if (w->index % 2 == 0) {
        for (int i = 0; i < PATIENTS_PER_THREAD; i++) {
            hy_slot_id slot = w->first + (hy_slot_id)((i + w->index) % SLOTS);
            hy_request q = request_for(w->patients[i], slot, w->r->app);
            hy_booking b;
            hy_result rc = hy_engine_hold(w->r->engine, &q, &b);
            if (rc == HY_OK) rc = hy_engine_confirm(w->r->engine, b.id, &b);
            if (rc == HY_OK) w->ids[w->booked++] = b.id;
            else if (rc == HY_SLOT_FULL) w->full++;
            else if (rc == HY_LIMIT_REACHED) w->limited++;
            else w->other++;
        }
    } else {
        hy_request reqs[PATIENTS_PER_THREAD];
        hy_booking_result res[PATIENTS_PER_THREAD];
        for (int i = 0; i < PATIENTS_PER_THREAD; i++)
            reqs[i] = request_for(w->patients[i], w->first + (hy_slot_id)((i * 7 + w->index) % SLOTS), w->r->app);
        if (hy_engine_book_many(w->r->engine, reqs, PATIENTS_PER_THREAD, res) != HY_OK) {
            w->other = PATIENTS_PER_THREAD;
            return NULL;
        }
        for (int i = 0; i < PATIENTS_PER_THREAD; i++) {
            if (res[i].result == HY_OK) w->ids[w->booked++] = res[i].booking.id;
            else if (res[i].result == HY_SLOT_FULL) w->full++;
            else if (res[i].result == HY_LIMIT_REACHED) w->limited++;
            else w->other++;
        }
    }
    return NULL;
}

typedef struct {
    hy_subscription *events;
    int stop; /* set once the workers are joined; read with __atomic */
    size_t booked_events, confirmed_events, cancelled_events, lines;
    int failed;
} reader;

static void count_lines(reader *rd, const char *buf) {
    for (const char *line = buf; *line; ) {
        const char *nl = strchr(line, '\n');
        if (!nl) { rd->failed = 1; return; }
        rd->lines++;
        if (strstr(line, "\"type\":\"booked\"") && strstr(line, "\"type\":\"booked\"") < nl) rd->booked_events++;
        if (strstr(line, "\"type\":\"confirmed\"") && strstr(line, "\"type\":\"confirmed\"") < nl) rd->confirmed_events++;
        if (strstr(line, "\"type\":\"cancelled\"") && strstr(line, "\"type\":\"cancelled\"") < nl) rd->cancelled_events++;
        line = nl + 1;
    }
}

static void *read_events(void *arg) {
    reader *rd = arg;
    static char buf[1 << 16];
    for (;;) {
        int stopping = __atomic_load_n(&rd->stop, __ATOMIC_ACQUIRE);
        size_t n = 0, count = 0;
        if (hy_subscription_poll(rd->events, buf, sizeof buf, &n, &count) != HY_OK) { rd->failed = 1; return NULL; }
        count_lines(rd, buf);
        if (count == 0 && stopping) return NULL;
        if (count == 0) sched_yield(); /* a polite poller: leave the CPU to the workers */
    }
}

static void test_race_for_few_places_never_overbooks(void) {
    region r;
    CHECK(region_open(&r, NULL, HY_POLICY_JSON));
    hy_slot_id first;
    CHECK(region_publish(&r, r.dr_li, SLOTS, CAPACITY, &first));
    reader rd;
    memset(&rd, 0, sizeof rd);
    CHECK_OK(hy_engine_subscribe(r.engine, &rd.events));
    pthread_t reader_thread;
    CHECK(pthread_create(&reader_thread, NULL, read_events, &rd) == 0);

    static worker w[THREADS];
    size_t total_booked_all_rounds = 0, total_cancelled = 0;
    for (int t = 0; t < THREADS; t++) {
        memset(&w[t], 0, sizeof w[t]);
        w[t].r = &r;
        w[t].first = first;
        w[t].index = t;
        for (int i = 0; i < PATIENTS_PER_THREAD; i++) CHECK_OK(hy_engine_register_patient(r.engine, &w[t].patients[i]));
    }
    for (int round = 0; round < ROUNDS; round++) {
        pthread_t th[THREADS];
        for (int t = 0; t < THREADS; t++) {
            w[t].booked = w[t].full = w[t].limited = w[t].other = 0;
            CHECK(pthread_create(&th[t], NULL, race, &w[t]) == 0);
        }
        int booked = 0, other = 0;
        for (int t = 0; t < THREADS; t++) {
            CHECK(pthread_join(th[t], NULL) == 0);
            booked += w[t].booked;
            other += w[t].other;
            CHECK(w[t].booked + w[t].full + w[t].limited + w[t].other == PATIENTS_PER_THREAD);
        }
        CHECK(other == 0);
        CHECK(booked == SLOTS * CAPACITY);
        for (int s = 0; s < SLOTS; s++) {
            hy_slot_info info;
            CHECK_OK(hy_engine_slot(r.engine, first + (hy_slot_id)s, &info));
            int taken = info.pool_taken[0] + info.pool_taken[1] + info.pool_taken[2] + info.pool_taken[3];
            CHECK(taken == CAPACITY);
        }
        total_booked_all_rounds += (size_t)booked;
        /* Everyone cancels (free: before 15:00 the day before), and the next round races again. */
        for (int t = 0; t < THREADS; t++) {
            hy_booking_result res[PATIENTS_PER_THREAD];
            CHECK_OK(hy_engine_lifecycle_many(r.engine, HY_LIFECYCLE_CANCEL, w[t].ids, (size_t)w[t].booked, res));
            for (int i = 0; i < w[t].booked; i++) CHECK(res[i].result == HY_OK);
            total_cancelled += (size_t)w[t].booked;
        }
    }
    __atomic_store_n(&rd.stop, 1, __ATOMIC_RELEASE);
    CHECK(pthread_join(reader_thread, NULL) == 0);
    CHECK(!rd.failed);
    /* Every success was announced once: a booked (bulk) or a confirmed (hold path) event. */
    CHECK(rd.booked_events + rd.confirmed_events == total_booked_all_rounds);
    CHECK(rd.cancelled_events == total_cancelled);
    hy_subscription_free(rd.events);
    hy_engine_free(r.engine);
}

TEST_MAIN_BEGIN
    RUN(test_race_for_few_places_never_overbooks);
TEST_MAIN_END
