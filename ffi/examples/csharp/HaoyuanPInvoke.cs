// HaoyuanPInvoke.cs — calling libhaoyuan from C# through P/Invoke (Mono or .NET), no glue code
// in C. One file: the declarations, the structs, and a run that opens an engine, publishes two
// slots of one place, books, sees a second patient refused, cancels, books again, books through
// FHIR (a library-allocated string, freed with hy_string_free) and reads the events through a
// callback. Every result is checked; any surprise exits 1.
//
// The marshalling rules (bool as UnmanagedType.U1, size_t as UIntPtr, who frees what) are in
// ffi/README.md, "Other languages". Built and run by ci/csharp-mono.sh:
//
//   mcs -out:HaoyuanPInvoke.exe ffi/examples/csharp/HaoyuanPInvoke.cs
//   LD_LIBRARY_PATH=target/release mono HaoyuanPInvoke.exe VERSION hy_request=24 hy_booking=80 ...
//
// VERSION is HY_VERSION from the header; the NAME=SIZE arguments are sizeof() of the C structs,
// which ci/csharp-mono.sh prints with the C compiler, so a C# struct that drifts from the
// header fails here.
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

static class Hy
{
    const string Lib = "haoyuan"; // libhaoyuan.so, found through LD_LIBRARY_PATH or ld.so.conf

    public const uint HY_OK = 0, HY_SLOT_FULL = 16;
    public const uint HY_POLICY_JSON = 0, HY_TIER_COMMUNITY = 1, HY_RESOURCE_DOCTOR = 0;
    public const uint HY_BOOKING_BOOKED = 1, HY_BOOKING_CANCELLED = 5, HY_POOL_GENERAL = 0;

    // hy_request: `bool follow_up` is one byte, so [MarshalAs(UnmanagedType.U1)] (the default
    // bool marshalling is a 4-byte Win32 BOOL).
    [StructLayout(LayoutKind.Sequential)]
    public struct Request
    {
        public uint patient;
        public uint slot;
        public ushort channel;
        [MarshalAs(UnmanagedType.U1)] public bool follow_up;
        public ulong referral; // 0 = none
    }

    // hy_booking: blittable (only integers), so it is passed by pointer without copying.
    [StructLayout(LayoutKind.Sequential)]
    public struct Booking
    {
        public ulong id;
        public uint patient;
        public uint slot;
        public uint department;
        public int date;        // hy_date: days since 1970-01-01
        public ushort channel;
        public uint state;      // hy_booking_state
        public uint pool;       // hy_pool
        public ulong referral;
        public ulong offer;
        public long created_at; // hy_timestamp: Unix seconds
        public long expires_at;
        public long starts_at;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct SlotSpec
    {
        public uint resource;
        public int date;
        public ushort start_min;
        public ushort end_min;
        public ushort capacity;
    }

    // hy_slot_info: fixed arrays as ByValArray, `bool closed` as U1.
    [StructLayout(LayoutKind.Sequential)]
    public struct SlotInfo
    {
        public uint id;
        public uint resource;
        public uint department;
        public uint institution;
        public int date;
        public ushort start_min;
        public ushort end_min;
        public ushort capacity;
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = 4)] public ushort[] pool_places;
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = 4)] public ushort[] pool_taken;
        [MarshalAs(UnmanagedType.U1)] public bool closed;
        public long starts_at;
        public long ends_at;
    }

    // hy_event_callback: runs on the calling thread before hy_subscription_dispatch returns;
    // keep the delegate alive until then (GC.KeepAlive). It must not throw into the library.
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate int EventCallback(IntPtr userdata, ulong seq, IntPtr json, UIntPtr jsonLen);

    // const char * that the library owns: IntPtr, never `string` (the marshaller would free it).
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    public static extern IntPtr hy_version();
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    public static extern uint hy_last_error_message(byte[] buf, UIntPtr len, out UIntPtr written);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    public static extern void hy_string_free(IntPtr s);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    public static extern uint hy_date_from_ymd(int year, uint month, uint day, out int dateOut);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    public static extern uint hy_timestamp_from_local(int date, ushort minute, int utcOffsetS, out long timestampOut);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    public static extern uint hy_engine_with_manual_clock([MarshalAs(UnmanagedType.LPUTF8Str)] string policy,
        uint format, int utcOffsetS, long start, out IntPtr engineOut);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    public static extern void hy_engine_free(IntPtr engine);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    public static extern uint hy_engine_add_institution(IntPtr engine, [MarshalAs(UnmanagedType.LPUTF8Str)] string name,
        uint tier, [MarshalAs(UnmanagedType.LPUTF8Str)] string district, out uint idOut);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    public static extern uint hy_engine_add_department(IntPtr engine, uint institution,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string specialty, [MarshalAs(UnmanagedType.LPUTF8Str)] string name,
        out uint idOut);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    public static extern uint hy_engine_add_resource(IntPtr engine, uint department, uint kind,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.U1)] bool expert, out uint idOut);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    public static extern uint hy_engine_channel_id(IntPtr engine, [MarshalAs(UnmanagedType.LPUTF8Str)] string name,
        out ushort idOut);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    public static extern uint hy_engine_register_patient(IntPtr engine, out uint idOut);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    public static extern uint hy_engine_publish_slots(IntPtr engine, [In] SlotSpec[] specs, UIntPtr len, out uint firstOut);
    // Outputs as `ref`: the library writes them only on HY_OK, so they keep what you put in.
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    public static extern uint hy_engine_slot(IntPtr engine, uint slot, ref SlotInfo infoOut);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    public static extern uint hy_engine_book(IntPtr engine, ref Request request, ref Booking bookingOut);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    public static extern uint hy_engine_cancel(IntPtr engine, ulong booking, ref Booking bookingOut);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    public static extern uint hy_engine_fhir_book(IntPtr engine, [MarshalAs(UnmanagedType.LPUTF8Str)] string json,
        out IntPtr jsonOut, out UIntPtr lenOut);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    public static extern uint hy_engine_subscribe(IntPtr engine, out IntPtr subscriptionOut);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    public static extern uint hy_subscription_dispatch(IntPtr subscription, EventCallback callback, IntPtr userdata,
        UIntPtr maxEvents, out UIntPtr deliveredOut);
    [DllImport(Lib, CallingConvention = CallingConvention.Cdecl)]
    public static extern void hy_subscription_free(IntPtr subscription);

    // `len` bytes of UTF-8 at `p` (the library's strings also end in a NUL).
    public static string Utf8(IntPtr p, int len)
    {
        var bytes = new byte[len];
        Marshal.Copy(p, bytes, 0, len);
        return Encoding.UTF8.GetString(bytes);
    }

    public static string Utf8Z(IntPtr p)
    {
        int len = 0;
        while (Marshal.ReadByte(p, len) != 0) len++;
        return Utf8(p, len);
    }

    public static string LastError()
    {
        var buf = new byte[1024];
        UIntPtr n;
        if (hy_last_error_message(buf, (UIntPtr)buf.Length, out n) != HY_OK) return "(none)";
        return Encoding.UTF8.GetString(buf, 0, (int)n);
    }
}

static class HaoyuanPInvoke
{
    static void Check(bool ok, string what)
    {
        if (!ok) throw new InvalidOperationException(what + " (last error: " + Hy.LastError() + ")");
    }

    static void Ok(uint rc, string what)
    {
        Check(rc == Hy.HY_OK, what + " returned " + rc);
    }

    static int Main(string[] args)
    {
        try
        {
            Run(args);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine("HaoyuanPInvoke: FAIL " + e.Message);
            return 1;
        }
        Console.WriteLine("HaoyuanPInvoke: ok");
        return 0;
    }

    static void Run(string[] args)
    {
        Check(args.Length >= 1, "usage: HaoyuanPInvoke VERSION [struct=size ...]");
        string version = Hy.Utf8Z(Hy.hy_version());
        Console.WriteLine("library " + version + " (expected " + args[0] + ")");
        Check(version == args[0], "hy_version() is the header's HY_VERSION");
        var sizes = new Dictionary<string, int> {
            { "hy_request", Marshal.SizeOf(typeof(Hy.Request)) },
            { "hy_booking", Marshal.SizeOf(typeof(Hy.Booking)) },
            { "hy_slot_spec", Marshal.SizeOf(typeof(Hy.SlotSpec)) },
            { "hy_slot_info", Marshal.SizeOf(typeof(Hy.SlotInfo)) },
        };
        for (int i = 1; i < args.Length; i++)
        {
            string[] kv = args[i].Split('=');
            int size;
            Check(sizes.TryGetValue(kv[0], out size) && size == int.Parse(kv[1]),
                  "sizeof(" + kv[0] + ") is " + kv[1] + " in C, " + (sizes.ContainsKey(kv[0]) ? sizes[kv[0]].ToString() : "?") + " in C#");
        }

        // 16:00 on 2026-11-23 in China; the visit day, the 25th, is open for booking.
        const int china = 8 * 3600;
        int today, visitDay;
        long start, nineAm;
        Ok(Hy.hy_date_from_ymd(2026, 11, 23, out today), "hy_date_from_ymd");
        Ok(Hy.hy_date_from_ymd(2026, 11, 25, out visitDay), "hy_date_from_ymd");
        Ok(Hy.hy_timestamp_from_local(today, 16 * 60, china, out start), "hy_timestamp_from_local");
        Ok(Hy.hy_timestamp_from_local(visitDay, 9 * 60, china, out nineAm), "hy_timestamp_from_local");

        IntPtr engine, events = IntPtr.Zero;
        Ok(Hy.hy_engine_with_manual_clock(null, Hy.HY_POLICY_JSON, china, start, out engine), "engine");
        try
        {
            uint clinic, gp, drWu;
            ushort app;
            Ok(Hy.hy_engine_add_institution(engine, "莞城社区卫生服务中心", Hy.HY_TIER_COMMUNITY, "Guancheng", out clinic), "institution");
            Ok(Hy.hy_engine_add_department(engine, clinic, "general_practice", "全科", out gp), "department");
            Ok(Hy.hy_engine_add_resource(engine, gp, Hy.HY_RESOURCE_DOCTOR, "吴医生", false, out drWu), "resource");
            Ok(Hy.hy_engine_channel_id(engine, "app", out app), "channel");
            Ok(Hy.hy_engine_subscribe(engine, out events), "subscribe");

            // Two 30-minute slots of one place from 09:00, in one call.
            var specs = new Hy.SlotSpec[2];
            for (int i = 0; i < 2; i++)
            {
                specs[i].resource = drWu;
                specs[i].date = visitDay;
                specs[i].start_min = (ushort)(9 * 60 + 30 * i);
                specs[i].end_min = (ushort)(9 * 60 + 30 * i + 30);
                specs[i].capacity = 1;
            }
            uint slotA;
            Ok(Hy.hy_engine_publish_slots(engine, specs, (UIntPtr)specs.Length, out slotA), "publish");
            uint slotB = slotA + 1;

            uint ana, bo;
            Ok(Hy.hy_engine_register_patient(engine, out ana), "register");
            Ok(Hy.hy_engine_register_patient(engine, out bo), "register");

            var request = new Hy.Request { patient = ana, slot = slotA, channel = app };
            var booking = new Hy.Booking();
            Ok(Hy.hy_engine_book(engine, ref request, ref booking), "book");
            Check(booking.id != 0 && booking.patient == ana && booking.slot == slotA, "the booking is ana's in slot A");
            Check(booking.state == Hy.HY_BOOKING_BOOKED && booking.department == gp, "booked in GP");
            Check(booking.date == visitDay && booking.starts_at == nineAm, "at 09:00 on the 25th");

            var info = new Hy.SlotInfo();
            Ok(Hy.hy_engine_slot(engine, slotA, ref info), "slot");
            Check(info.capacity == 1 && info.pool_taken[Hy.HY_POOL_GENERAL] == 1 && !info.closed
                  && info.starts_at == nineAm, "slot A: its place taken");

            request.patient = bo;
            var refused = new Hy.Booking();
            uint rc = Hy.hy_engine_book(engine, ref request, ref refused);
            Check(rc == Hy.HY_SLOT_FULL && refused.id == 0, "bo refused with HY_SLOT_FULL, got " + rc);
            string why = Hy.LastError();
            Check(why.Contains("no free place"), "the message says why: " + why);
            Console.WriteLine("second patient refused: " + why);

            var cancelled = new Hy.Booking();
            Ok(Hy.hy_engine_cancel(engine, booking.id, ref cancelled), "cancel");
            Check(cancelled.id == booking.id && cancelled.state == Hy.HY_BOOKING_CANCELLED, "cancelled");
            Ok(Hy.hy_engine_slot(engine, slotA, ref info), "slot");
            Check(info.pool_taken[Hy.HY_POOL_GENERAL] == 0, "slot A free again");
            var rebooked = new Hy.Booking();
            Ok(Hy.hy_engine_book(engine, ref request, ref rebooked), "book again");
            Check(rebooked.patient == bo && rebooked.state == Hy.HY_BOOKING_BOOKED, "bo booked");

            // FHIR $book: the library allocates the Appointment; read it, then hy_string_free it.
            string fhir = string.Format("{{\"slot\": \"Slot/slot-{0}\", \"patient\": \"Patient/patient-{1}\", \"channel\": \"app\"}}",
                                        slotB, ana);
            IntPtr json;
            UIntPtr jsonLen;
            Ok(Hy.hy_engine_fhir_book(engine, fhir, out json, out jsonLen), "fhir book");
            string appointment;
            try
            {
                appointment = Hy.Utf8(json, (int)jsonLen);
            }
            finally
            {
                Hy.hy_string_free(json);
            }
            Check(appointment.Contains("\"resourceType\":\"Appointment\"") && appointment.Contains("\"status\":\"booked\""),
                  "a booked Appointment: " + appointment);

            // The events, one callback each: 3 bookings, 1 cancellation.
            int booked = 0, cancelledEvents = 0;
            Hy.EventCallback callback = (userdata, seq, text, len) =>
            {
                string ev = Hy.Utf8(text, (int)len);
                if (ev.Contains("\"type\":\"booked\"")) booked++;
                if (ev.Contains("\"type\":\"cancelled\"")) cancelledEvents++;
                return 0;
            };
            UIntPtr delivered;
            Ok(Hy.hy_subscription_dispatch(events, callback, IntPtr.Zero, UIntPtr.Zero, out delivered), "dispatch");
            GC.KeepAlive(callback);
            Check(booked == 3 && cancelledEvents == 1,
                  "events: " + booked + " booked, " + cancelledEvents + " cancelled of " + delivered);
            Console.WriteLine("booked {0}, cancelled it, booked {1}; FHIR booked slot {2}; {3} events",
                              booking.id, rebooked.id, slotB, delivered);
        }
        finally
        {
            Hy.hy_subscription_free(events);
            Hy.hy_engine_free(engine);
        }
    }
}
