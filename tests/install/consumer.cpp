// consumer.cpp — a C++17 program of a hospital system built with CMake against an installed
// haoyuan (find_package(haoyuan 0.1 REQUIRED), target haoyuan::haoyuan or
// haoyuan::haoyuan_static: tests/install/CMakeLists.txt). The same checks as consumer.c: the
// version of header and library, publish a slot of one place, book, a second patient refused,
// cancel, book again. Any unexpected result exits 1.
#include <haoyuan.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

// The engine handle, freed by hy_engine_free (which accepts NULL).
struct EngineFree {
    void operator()(hy_engine *e) const { hy_engine_free(e); }
};
using Engine = std::unique_ptr<hy_engine, EngineFree>;

std::string last_error() {
    char msg[512];
    size_t n = 0;
    if (hy_last_error_message(msg, sizeof msg, &n) != HY_OK) return "(none)";
    return std::string(msg, n);
}

void check(bool ok, const char *what) {
    if (!ok) throw std::runtime_error(std::string(what) + " (last error: " + last_error() + ")");
}

#define CHECK(cond) check((cond), "consumer.cpp: " #cond)

void run() {
    const std::string expected = std::to_string(HY_VERSION_MAJOR) + "." + std::to_string(HY_VERSION_MINOR) +
                                 "." + std::to_string(HY_VERSION_PATCH);
    std::printf("header %s, library %s\n", HY_VERSION, hy_version());
    CHECK(expected == hy_version());
    CHECK(std::string(HY_VERSION) == hy_version());

    const int32_t china = 8 * 3600;
    hy_date today = 0, visit_day = 0;
    hy_timestamp start = 0;
    CHECK(hy_date_from_ymd(2026, 11, 23, &today) == HY_OK);
    CHECK(hy_date_from_ymd(2026, 11, 25, &visit_day) == HY_OK);
    CHECK(hy_timestamp_from_local(today, 16 * 60, china, &start) == HY_OK);
    hy_engine *raw = nullptr;
    CHECK(hy_engine_with_manual_clock(nullptr, HY_POLICY_JSON, china, start, &raw) == HY_OK);
    Engine engine(raw);

    hy_institution_id clinic = 0;
    hy_department_id gp = 0;
    hy_resource_id dr_wu = 0;
    hy_channel_id app = 0;
    CHECK(hy_engine_add_institution(engine.get(), "Guancheng Community Clinic", HY_TIER_COMMUNITY, "Guancheng",
                                    &clinic) == HY_OK);
    CHECK(hy_engine_add_department(engine.get(), clinic, "general_practice", "General practice", &gp) == HY_OK);
    CHECK(hy_engine_add_resource(engine.get(), gp, HY_RESOURCE_DOCTOR, "Dr Wu", false, &dr_wu) == HY_OK);
    CHECK(hy_engine_channel_id(engine.get(), "app", &app) == HY_OK);

    hy_slot_spec spec{};
    spec.resource = dr_wu;
    spec.date = visit_day;
    spec.start_min = 9 * 60;
    spec.end_min = 9 * 60 + 30;
    spec.capacity = 1;
    hy_slot_id slot = 0;
    CHECK(hy_engine_publish_slots(engine.get(), &spec, 1, &slot) == HY_OK);
    CHECK(slot != 0);

    hy_patient_id ana = 0, bo = 0;
    CHECK(hy_engine_register_patient(engine.get(), &ana) == HY_OK);
    CHECK(hy_engine_register_patient(engine.get(), &bo) == HY_OK);

    hy_request request{};
    request.patient = ana;
    request.slot = slot;
    request.channel = app;
    hy_booking booking{};
    CHECK(hy_engine_book(engine.get(), &request, &booking) == HY_OK);
    CHECK(booking.id != 0 && booking.patient == ana && booking.slot == slot);
    CHECK(booking.state == HY_BOOKING_BOOKED && booking.department == gp && booking.date == visit_day);

    hy_slot_info info{};
    CHECK(hy_engine_slot(engine.get(), slot, &info) == HY_OK);
    CHECK(info.capacity == 1 && info.pool_taken[HY_POOL_GENERAL] == 1 && !info.closed);

    request.patient = bo;
    hy_booking refused{};
    CHECK(hy_engine_book(engine.get(), &request, &refused) == HY_SLOT_FULL);
    CHECK(refused.id == 0);
    const std::string why = last_error();
    CHECK(!why.empty() && why != "(none)");
    std::printf("second patient refused: %s\n", why.c_str());

    hy_booking cancelled{};
    CHECK(hy_engine_cancel(engine.get(), booking.id, &cancelled) == HY_OK);
    CHECK(cancelled.id == booking.id && cancelled.state == HY_BOOKING_CANCELLED);
    CHECK(hy_engine_slot(engine.get(), slot, &info) == HY_OK);
    CHECK(info.pool_taken[HY_POOL_GENERAL] == 0);

    hy_booking rebooked{};
    CHECK(hy_engine_book(engine.get(), &request, &rebooked) == HY_OK);
    CHECK(rebooked.patient == bo && rebooked.state == HY_BOOKING_BOOKED && rebooked.id != booking.id);
    std::printf("booked %llu, cancelled it, booked %llu\n", static_cast<unsigned long long>(booking.id),
                static_cast<unsigned long long>(rebooked.id));
}

}  // namespace

int main() {
    try {
        run();
    } catch (const std::exception &e) {
        std::fprintf(stderr, "FAIL %s\n", e.what());
        return 1;
    }
    std::printf("consumer.cpp: ok\n");
    return 0;
}
