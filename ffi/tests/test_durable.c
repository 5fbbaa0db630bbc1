/* A durable engine on a directory through C: what was acknowledged is there after reopening,
 * the configuration is fixed for the directory's life, and misuse is an error code. */
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_common.h"

static void remove_dir(const char *dir) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

/* Entries in a directory other than "." and ".." (-1 if it cannot be read). */
static int entries_in(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* The deployment's card key, as a host supplies it to a durable engine: the environment. */
static const char *CARD_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

static void test_reopen_recovers_bookings(void) {
    char dir[] = "/tmp/hy-ffi-durable-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    hy_date day;
    hy_timestamp start;
    CHECK_OK(hy_date_from_ymd(2026, 11, 23, &day));
    CHECK_OK(hy_timestamp_from_local(day, 16 * 60, OFFSET_S, &start));
    const char *policy = "{\"hold\": {\"ttl_s\": 120}}";

    hy_engine *e = NULL;
    CHECK_OK(hy_engine_open_with_manual_clock(dir, policy, HY_POLICY_JSON, OFFSET_S, HY_JOURNAL_SYNC, 0, start, &e));
    hy_institution_id inst;
    hy_department_id dep;
    hy_resource_id res;
    hy_channel_id app;
    CHECK_OK(hy_engine_add_institution(e, "Huizhou Central", HY_TIER_TERTIARY, "Huicheng", &inst));
    CHECK_OK(hy_engine_add_department(e, inst, "obstetrics", "Obstetrics", &dep));
    CHECK_OK(hy_engine_add_resource(e, dep, HY_RESOURCE_BED, "Delivery bed pool", false, &res));
    CHECK_OK(hy_engine_channel_id(e, "app", &app));
    hy_slot_spec spec = {res, day + 2, 0, 1440, 4};
    hy_slot_id slot;
    CHECK_OK(hy_engine_publish_slots(e, &spec, 1, &slot));
    hy_patient_id p;
    CHECK_OK(hy_engine_register_patient(e, &p));
    CHECK_OK(hy_engine_link_card(e, p, "e_health", "HZ-1"));
    hy_request q = request_for(p, slot, app);
    hy_booking b;
    CHECK_OK(hy_engine_book(e, &q, &b));
    uint64_t seq = 0;
    CHECK_OK(hy_engine_flush(e, &seq));
    CHECK(seq > 0);
    /* One open handle per directory. */
    hy_engine *second = NULL;
    CHECK_RC(hy_engine_open(dir, policy, HY_POLICY_JSON, OFFSET_S, HY_JOURNAL_SYNC, 0, &second), HY_DURABILITY);
    CHECK(second == NULL);
    CHECK_OK(hy_engine_snapshot(e, NULL));
    hy_engine_free(e);

    /* Another configuration is refused; the same one recovers everything. */
    CHECK_RC(hy_engine_open(dir, NULL, HY_POLICY_JSON, OFFSET_S, HY_JOURNAL_SYNC, 0, &e), HY_INVALID_ARGUMENT);
    CHECK_OK(hy_engine_open_with_manual_clock(dir, policy, HY_POLICY_JSON, OFFSET_S, HY_JOURNAL_BUFFERED, 5, start, &e));
    hy_booking again;
    CHECK_OK(hy_engine_booking(e, b.id, &again));
    CHECK(again.state == HY_BOOKING_BOOKED && again.slot == slot);
    hy_patient_id found;
    CHECK_OK(hy_engine_find_patient_by_card(e, "e_health", "HZ-1", &found));
    CHECK(found == p);
    hy_slot_info info;
    CHECK_OK(hy_engine_slot(e, slot, &info));
    CHECK(info.pool_taken[0] + info.pool_taken[1] + info.pool_taken[2] + info.pool_taken[3] == 1);
    hy_engine_free(e);
    remove_dir(dir);
}

static void test_durable_misuse(void) {
    hy_engine *e = NULL;
    /* Without a card key a durable engine does not open; nothing is created. */
    char dir[] = "/tmp/hy-ffi-nokey-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char sub[64];
    snprintf(sub, sizeof sub, "%s/d", dir);
    CHECK(unsetenv("HAOYUAN_CARD_KEY") == 0);
    CHECK_RC(hy_engine_open(sub, NULL, HY_POLICY_JSON, OFFSET_S, HY_JOURNAL_SYNC, 0, &e), HY_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "HAOYUAN_CARD_KEY") != NULL);
    CHECK(access(sub, F_OK) != 0);
    /* Another key than the directory's is refused. */
    CHECK(setenv("HAOYUAN_CARD_KEY", CARD_KEY, 1) == 0);
    CHECK_OK(hy_engine_open(sub, NULL, HY_POLICY_JSON, OFFSET_S, HY_JOURNAL_SYNC, 0, &e));
    hy_engine_free(e);
    e = NULL;
    CHECK(setenv("HAOYUAN_CARD_KEY", "4242424242424242424242424242424242424242424242424242424242424242", 1) == 0);
    CHECK_RC(hy_engine_open(sub, NULL, HY_POLICY_JSON, OFFSET_S, HY_JOURNAL_SYNC, 0, &e), HY_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "the card key does not match") != NULL);
    CHECK(setenv("HAOYUAN_CARD_KEY", CARD_KEY, 1) == 0);
    remove_dir(dir);
    CHECK_RC(hy_engine_open(NULL, NULL, HY_POLICY_JSON, OFFSET_S, HY_JOURNAL_SYNC, 0, &e), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_open("/tmp/x", NULL, HY_POLICY_JSON, OFFSET_S, 9, 0, &e), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_open("/tmp/x", NULL, HY_POLICY_JSON, OFFSET_S, HY_JOURNAL_BUFFERED, 0, &e), HY_INVALID_ARGUMENT);
    /* A directory that cannot be created. */
    CHECK_RC(hy_engine_open("/proc/hy-no-such-dir/x", NULL, HY_POLICY_JSON, OFFSET_S, HY_JOURNAL_SYNC, 0, &e), HY_DURABILITY);
    CHECK(e == NULL);
    /* Snapshots and flushes need a durable engine. */
    CHECK_OK(hy_engine_new(NULL, HY_POLICY_JSON, OFFSET_S, &e));
    CHECK_RC(hy_engine_snapshot(e, NULL), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_flush(e, NULL), HY_INVALID_ARGUMENT);
    CHECK_RC(hy_engine_flush(NULL, NULL), HY_NULL_PARAMETER);
    hy_engine_free(e);
}

/* Issue 12: hy_engine_open("") wrote LOCK and config.json into the current directory, then
 * failed with HY_DURABILITY. An empty path is now HY_INVALID_ARGUMENT before any disk access. */
static void test_open_empty_path_touches_nothing(void) {
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    char dir[] = "/tmp/hy-ffi-emptypath-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    CHECK(chdir(dir) == 0);
    hy_engine *e = (hy_engine *)0x1;
    hy_result open_rc = hy_engine_open("", NULL, HY_POLICY_JSON, OFFSET_S, HY_JOURNAL_SYNC, 0, &e);
    hy_result manual_rc = hy_engine_open_with_manual_clock("", NULL, HY_POLICY_JSON, OFFSET_S, HY_JOURNAL_SYNC, 0, 1795939200, &e);
    int left = entries_in(".");
    int back = chdir(cwd);
    remove_dir(dir);
    CHECK(back == 0);
    CHECK_RC(open_rc, HY_INVALID_ARGUMENT);
    CHECK_RC(manual_rc, HY_INVALID_ARGUMENT);
    CHECK(left == 0);
    CHECK(e == (hy_engine *)0x1);
}

/* UTC offsets (issue 12), as in test_bad_input.c: a refused offset creates nothing on disk. */
static const int32_t bad_offsets[] = {INT32_MIN, INT32_MIN + 1, -(14 * 3600 + 1), 14 * 3600 + 1, INT32_MAX};
static const int32_t good_offsets[] = {-14 * 3600, 0, 14 * 3600};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Open a durable engine with each offset: refused ones create nothing on disk. */
static void check_open_offsets(int manual) {
    char base[] = "/tmp/hy-ffi-offset-XXXXXX";
    CHECK(mkdtemp(base) != NULL);
    char dir[256];
    int failed_before = hy_test_failures;
    for (size_t i = 0; i < COUNT(bad_offsets) && hy_test_failures == failed_before; i++) {
        snprintf(dir, sizeof dir, "%s/bad-%zu", base, i);
        hy_engine *e = (hy_engine *)0x1;
        hy_result rc = manual ? hy_engine_open_with_manual_clock(dir, NULL, HY_POLICY_JSON, bad_offsets[i], HY_JOURNAL_SYNC, 0, 1795939200, &e)
                              : hy_engine_open(dir, NULL, HY_POLICY_JSON, bad_offsets[i], HY_JOURNAL_SYNC, 0, &e);
        if (rc != HY_INVALID_ARGUMENT || e != (hy_engine *)0x1 || exists(dir)) {
            fprintf(stderr, "  FAIL %s:%d: offset %d: result %u, directory %s\n    last error: %s\n", __FILE__, __LINE__,
                    (int)bad_offsets[i], (unsigned)rc, exists(dir) ? "created" : "absent", last_error());
            hy_test_failures++;
            if (rc == HY_OK && e != (hy_engine *)0x1) hy_engine_free(e);
        }
    }
    for (size_t i = 0; i < COUNT(good_offsets) && hy_test_failures == failed_before; i++) {
        snprintf(dir, sizeof dir, "%s/good-%zu", base, i);
        hy_engine *e = NULL;
        hy_result rc = manual ? hy_engine_open_with_manual_clock(dir, NULL, HY_POLICY_JSON, good_offsets[i], HY_JOURNAL_SYNC, 0, 1795939200, &e)
                              : hy_engine_open(dir, NULL, HY_POLICY_JSON, good_offsets[i], HY_JOURNAL_SYNC, 0, &e);
        if (rc != HY_OK) {
            fprintf(stderr, "  FAIL %s:%d: offset %d refused (%u): %s\n", __FILE__, __LINE__, (int)good_offsets[i], (unsigned)rc, last_error());
            hy_test_failures++;
        }
        hy_engine_free(e);
    }
    remove_dir(base);
}

/* Before the fix, INT32_MIN created the directory, then panicked (`i32::abs` overflow):
 * HY_PANIC. */
static void test_utc_offsets_hy_engine_open(void) { check_open_offsets(0); }

/* Before the fix, as hy_engine_open. */
static void test_utc_offsets_hy_engine_open_with_manual_clock(void) { check_open_offsets(1); }

/* Pipelined acknowledgements: outcomes at once, one ticket for many calls, a wait and a
 * callback; the bulk calls commit as one batch; misuse is an error code. */
static void on_durable(void *userdata, hy_ticket ticket, hy_result result) {
    /* Another thread (the journal's writer) may write it: atomically. */
    __atomic_store_n((hy_ticket *)userdata, result == HY_OK ? ticket : 1, __ATOMIC_RELEASE);
}

static void test_pipelined_acknowledgements(void) {
    char dir[] = "/tmp/hy-ffi-pipeline-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    hy_date day;
    hy_timestamp start;
    CHECK_OK(hy_date_from_ymd(2026, 11, 23, &day));
    CHECK_OK(hy_timestamp_from_local(day, 16 * 60, OFFSET_S, &start));
    hy_engine *e = NULL;
    CHECK_OK(hy_engine_open_with_manual_clock(dir, NULL, HY_POLICY_JSON, OFFSET_S, HY_JOURNAL_SYNC, 0, start, &e));
    hy_institution_id inst;
    hy_department_id dep;
    hy_resource_id res;
    hy_channel_id app;
    CHECK_OK(hy_engine_add_institution(e, "Huizhou Central", HY_TIER_SECONDARY, "Huicheng", &inst));
    CHECK_OK(hy_engine_add_department(e, inst, "general", "General practice", &dep));
    CHECK_OK(hy_engine_add_resource(e, dep, HY_RESOURCE_DOCTOR, "Dr Huang", false, &res));
    CHECK_OK(hy_engine_channel_id(e, "app", &app));
    enum { N = 64 };
    hy_slot_spec specs[N];
    for (int i = 0; i < N; i++) specs[i] = (hy_slot_spec){res, day + 1, (uint16_t)(480 + i), (uint16_t)(481 + i), 2};
    hy_slot_id first, slots[N];
    CHECK_OK(hy_engine_publish_slots(e, specs, N, &first));
    for (int i = 0; i < N; i++) slots[i] = first + (hy_slot_id)i;
    hy_patient_id patients[N];
    for (int i = 0; i < N; i++) CHECK_OK(hy_engine_register_patient(e, &patients[i]));

    /* Pipelined single calls: a ticket from the end, then the wait. */
    hy_ticket before;
    CHECK_OK(hy_engine_ticket(e, &before));
    CHECK_OK(hy_engine_pipeline_begin(e));
    hy_booking booked[N / 2];
    for (int i = 0; i < N / 2; i++) {
        hy_request q = request_for(patients[i], slots[i], app);
        CHECK_OK(hy_engine_book(e, &q, &booked[i]));
    }
    hy_ticket ticket = 0;
    CHECK_OK(hy_engine_pipeline_end(e, &ticket));
    CHECK(ticket >= before + N / 2);
    hy_ticket seen = 0;
    CHECK_OK(hy_engine_on_durable(e, ticket, on_durable, &seen));
    CHECK_OK(hy_engine_wait_durable(e, ticket));
    bool durable = false;
    CHECK_OK(hy_engine_is_durable(e, ticket, &durable));
    CHECK(durable);
    /* The writer runs callbacks just after waking the waiters: give it a moment. */
    for (int i = 0; i < 5000 && __atomic_load_n(&seen, __ATOMIC_ACQUIRE) == 0; i++) usleep(1000);
    CHECK(__atomic_load_n(&seen, __ATOMIC_ACQUIRE) == ticket);

    /* A bulk call: one batch. */
    hy_request reqs[N / 2];
    for (int i = 0; i < N / 2; i++) reqs[i] = request_for(patients[N / 2 + i], slots[N / 2 + i], app);
    hy_booking_result results[N / 2];
    CHECK_OK(hy_engine_book_many(e, reqs, N / 2, results));
    for (int i = 0; i < N / 2; i++) CHECK(results[i].result == HY_OK);

    /* Operator metrics: the journal's side is there, in JSON and in Prometheus text. */
    char small[8];
    size_t need = 0;
    CHECK_RC(hy_engine_metrics_prometheus(e, small, sizeof small, &need), HY_BUFFER_TOO_SMALL);
    CHECK(need > 100);
    char *text = malloc(need + 4096);
    size_t written = 0;
    CHECK_OK(hy_engine_metrics_prometheus(e, text, need + 4096, &written));
    CHECK(written == strlen(text));
    CHECK(strstr(text, "\nhaoyuan_journal_fsync_seconds_count ") != NULL);
    CHECK(strstr(text, "\nhaoyuan_durable_lag_events 0\n") != NULL);
    CHECK_OK(hy_engine_metrics_json(e, text, need + 4096, &written));
    CHECK(strstr(text, "\"journal\":{\"queue_depth\":") != NULL);
    free(text);

    /* Misuse. */
    CHECK_RC(hy_engine_metrics_json(e, NULL, 0, NULL), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_pipeline_end(e, NULL), HY_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "no pipeline was begun") != NULL);
    for (int i = 0; i < HY_PIPELINE_DEPTH_MAX; i++) CHECK_OK(hy_engine_pipeline_begin(e));
    CHECK_RC(hy_engine_pipeline_begin(e), HY_INVALID_ARGUMENT);
    for (int i = 0; i < HY_PIPELINE_DEPTH_MAX; i++) CHECK_OK(hy_engine_pipeline_end(e, NULL));
    CHECK_RC(hy_engine_on_durable(e, ticket, NULL, NULL), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_wait_durable(NULL, ticket), HY_NULL_PARAMETER);
    CHECK_RC(hy_engine_is_durable(e, ticket, NULL), HY_NULL_PARAMETER);
    hy_engine_free(e);

    /* Everything acknowledged is there after reopening. */
    CHECK_OK(hy_engine_open_with_manual_clock(dir, NULL, HY_POLICY_JSON, OFFSET_S, HY_JOURNAL_SYNC, 0, start, &e));
    for (int i = 0; i < N / 2; i++) {
        hy_booking b;
        CHECK_OK(hy_engine_booking(e, booked[i].id, &b));
        CHECK(b.state == HY_BOOKING_BOOKED);
        CHECK_OK(hy_engine_booking(e, results[i].booking.id, &b));
        CHECK(b.state == HY_BOOKING_BOOKED);
    }
    hy_engine_free(e);
    remove_dir(dir);
}

TEST_MAIN_BEGIN
    /* Before any thread exists: the engine reads the key from the environment. */
    if (setenv("HAOYUAN_CARD_KEY", CARD_KEY, 1) != 0) return 1;
    RUN(test_reopen_recovers_bookings);
    RUN(test_durable_misuse);
    RUN(test_pipelined_acknowledgements);
    RUN(test_open_empty_path_touches_nothing);
    RUN(test_utc_offsets_hy_engine_open);
    RUN(test_utc_offsets_hy_engine_open_with_manual_clock);
TEST_MAIN_END
