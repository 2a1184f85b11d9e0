using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PilotBench.Engine.Storage;

/// <summary>
/// A test_id as a dictionary key without keeping its string where that loses nothing: an id that
/// is a GUID in its canonical form (lowercase "D", what the writers make) is held as its 16 bytes;
/// any other id as its string. The mapping is one-to-one (a GUID is used only when formatting it
/// gives back exactly the same characters), so two ids are equal exactly when their keys are.
/// </summary>
internal readonly struct TestIdKey
{
    private TestIdKey(Guid guid, string? text, bool isNull)
    {
        Guid = guid;
        Text = text;
        IsNull = isNull;
    }

    public Guid Guid { get; }

    /// <summary>The id when it is not a canonical GUID; null when it is one (or the id is null).</summary>
    public string? Text { get; }

    public bool IsNull { get; }

    public static TestIdKey Null => new(default, null, isNull: true);

    public static TestIdKey From(ReadOnlySpan<char> id) =>
        TryCanonicalGuid(id, out var guid) ? new TestIdKey(guid, null, false) : new TestIdKey(default, id.ToString(), false);

    /// <summary>
    /// The key of the id whose UTF-8 bytes are <paramref name="utf8"/> (as decoding them to a
    /// string first would give): a canonical GUID is ASCII, so only 36 ASCII bytes are tried as one.
    /// </summary>
    public static TestIdKey From(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length == 36 && TryCanonicalGuid(utf8, out var guid)) return new TestIdKey(guid, null, false);
        return new TestIdKey(default, utf8.Length == 0 ? "" : Format.FastColumnReader.StrictUtf8.GetString(utf8), false);
    }

    public static TestIdKey From(string? id) =>
        id is null ? Null : TryCanonicalGuid(id, out var guid) ? new TestIdKey(guid, null, false) : new TestIdKey(default, id, false);

    public override string ToString() => IsNull ? "" : Text ?? Guid.ToString("D");

    // The canonical form, parsed by hand: this runs for every row of every increment a merge reads
    // (pass one), where Guid.TryParseExact + TryFormat + a comparison took about 7 % of a 1M-record
    // consolidation's CPU (framework code the module's ReadyToRun images do not hold, re-compiled
    // with PGO probes while it runs). Exactly the strings that Guid.TryParseExact(id, "D") accepts
    // and Guid.ToString("D") gives back unchanged: 8-4-4-4-12 lowercase hex digits with hyphens
    // (tests/units/Storage/TestIdIndexTests.cs compares the two on every single-character change).
    private static bool TryCanonicalGuid(ReadOnlySpan<char> id, out Guid guid)
    {
        guid = default;
        if (id.Length != 36) return false;
        Span<byte> ascii = stackalloc byte[36];
        for (int i = 0; i < 36; i++)
        {
            char c = id[i];
            if (c > 0x7F) return false;
            ascii[i] = (byte)c;
        }
        return TryCanonicalGuid(ascii, out guid);
    }

    private static bool TryCanonicalGuid(ReadOnlySpan<byte> id, out Guid guid)
    {
        guid = default;
        if (id.Length != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-') return false;
        // Any byte that is not a lowercase hex digit makes its pair negative (bit 31 set).
        int d = Pair(id, 19), e = Pair(id, 21), f = Pair(id, 24), g = Pair(id, 26);
        int h = Pair(id, 28), i = Pair(id, 30), j = Pair(id, 32), k = Pair(id, 34);
        int a1 = Pair(id, 0), a2 = Pair(id, 2), a3 = Pair(id, 4), a4 = Pair(id, 6);
        int b1 = Pair(id, 9), b2 = Pair(id, 11), c1 = Pair(id, 14), c2 = Pair(id, 16);
        if ((d | e | f | g | h | i | j | k | a1 | a2 | a3 | a4 | b1 | b2 | c1 | c2) < 0) return false;
        guid = new Guid(
            (uint)(a1 << 24 | a2 << 16 | a3 << 8 | a4), (ushort)(b1 << 8 | b2), (ushort)(c1 << 8 | c2),
            (byte)d, (byte)e, (byte)f, (byte)g, (byte)h, (byte)i, (byte)j, (byte)k);
        return true;
    }

    /// <summary>The byte of two lowercase hex digits at <paramref name="at"/>, or a negative number.</summary>
    private static int Pair(ReadOnlySpan<byte> id, int at) => HexDigit(id[at]) << 4 | HexDigit(id[at + 1]);

    private static int HexDigit(byte c)
    {
        if ((uint)(c - '0') <= 9) return c - '0';
        if ((uint)(c - 'a') <= 5) return c - 'a' + 10;
        return int.MinValue >> 4; // negative after << 4 and | with any digit
    }
}

/// <summary>
/// test_id -> where its winning increment row is (file, row) and its written_at: the compact
/// state of a merge's first pass (about 40 bytes per GUID id; no other column is kept).
/// </summary>
internal sealed class TestIdIndex
{
    /// <summary>written_at ticks of a row without written_at.</summary>
    public const long NoTime = long.MinValue;

    private readonly GuidMap _guids = new();
    private readonly Dictionary<string, Entry> _texts = new(StringComparer.Ordinal);

    public readonly record struct Entry(int File, int Row, long WrittenAtTicks);

    public int Count => _guids.Count + _texts.Count;

    /// <summary>
    /// Room for about <paramref name="ids"/> GUID ids without growing: growing a table of a
    /// million entries step by step allocates about twice its final size on the large object heap
    /// (and rehashes every entry at each step).
    /// </summary>
    public void Reserve(int ids) => _guids.Reserve(ids);

    public IEnumerable<string> Ids => _guids.Keys.Select(g => g.ToString("D")).Concat(_texts.Keys);

    public static long Ticks(DateTime? value) => value is DateTime t ? t.Ticks : NoTime;

    public ref Entry GetValueRefOrAddDefault(in TestIdKey key, out bool exists) =>
        ref key.Text is null
            ? ref _guids.GetValueRefOrAddDefault(key.Guid, out exists)
            : ref CollectionsMarshal.GetValueRefOrAddDefault(_texts, key.Text, out exists);

    /// <summary>A hint that <paramref name="key"/> is looked up soon (see <see cref="GuidMap.Prefetch"/>).</summary>
    public void Prefetch(in TestIdKey key)
    {
        if (!key.IsNull && key.Text is null) _guids.Prefetch(key.Guid);
    }

    public bool TryGetValue(in TestIdKey key, out Entry entry)
    {
        if (key.IsNull)
        {
            entry = default;
            return false;
        }
        return key.Text is null ? _guids.TryGetValue(key.Guid, out entry) : _texts.TryGetValue(key.Text, out entry);
    }

    /// <summary>
    /// GUID id -> entry: open addressing with linear probing, each slot holding its key, entry and
    /// whether it is used side by side (one cache miss per lookup in a table of a million ids,
    /// where Dictionary's buckets and entries cost two), any capacity (a multiply-shift maps a
    /// hash to a slot), at most 3/4 full. Written per increment row in the merge's first pass,
    /// which runs on one thread: compiled optimized at once (Dictionary&lt;Guid, Entry&gt; is a
    /// framework instantiation over this engine's struct, so no ReadyToRun image held it, and it
    /// ran unoptimized for much of a 1M-record merge: 0.36 s of its CPU in a trace).
    /// </summary>
    internal sealed class GuidMap
    {
        private struct Slot
        {
            public Guid Key;
            public Entry Value;
            public bool Used;
        }

        private Slot[] _slots = new Slot[16];
        private int _count;

        public int Count => _count;

        public IEnumerable<Guid> Keys
        {
            get
            {
                for (int i = 0; i < _slots.Length; i++)
                {
                    if (_slots[i].Used) yield return _slots[i].Key;
                }
            }
        }

        /// <summary>Grows (once) to hold <paramref name="count"/> keys within the load limit.</summary>
        public void Reserve(int count)
        {
            if (count > _count && (long)count * 4 > (long)_slots.Length * 3) Resize((int)Math.Min(Array.MaxLength, (long)count * 4 / 3 + 1));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static int SlotOf(in Guid key, int length)
        {
            ref byte bytes = ref Unsafe.As<Guid, byte>(ref Unsafe.AsRef(in key));
            ulong a = Unsafe.ReadUnaligned<ulong>(ref bytes);
            ulong b = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref bytes, 8));
            ulong h = (a * 0x9E3779B97F4A7C15UL) ^ (b * 0xC2B2AE3D27D4EB4FUL);
            h ^= h >> 29;
            return (int)(((h >> 32) * (ulong)(uint)length) >> 32);
        }

        /// <summary>
        /// Asks the processor to bring <paramref name="key"/>'s first slot into the cache (a hint;
        /// no effect where there is no prefetch instruction). A table of a million ids is tens of
        /// megabytes: each lookup misses the cache, about 0.3 us here, and pass one looked up one
        /// id after the other. Prefetching a few rows ahead overlaps those misses.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public unsafe void Prefetch(in Guid key)
        {
            if (!System.Runtime.Intrinsics.X86.Sse.IsSupported) return;
            var slots = _slots;
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(Unsafe.AsPointer(ref slots[SlotOf(key, slots.Length)]));
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public ref Entry GetValueRefOrAddDefault(Guid key, out bool exists)
        {
            if ((long)(_count + 1) * 4 > (long)_slots.Length * 3) Resize(_slots.Length * 2);
            var slots = _slots;
            int i = SlotOf(key, slots.Length);
            while (true)
            {
                ref var slot = ref slots[i];
                if (!slot.Used)
                {
                    slot.Used = true;
                    slot.Key = key;
                    slot.Value = default;
                    _count++;
                    exists = false;
                    return ref slot.Value;
                }
                if (slot.Key == key)
                {
                    exists = true;
                    return ref slot.Value;
                }
                if (++i == slots.Length) i = 0;
            }
        }

        public bool TryGetValue(Guid key, out Entry entry)
        {
            var slots = _slots;
            int i = SlotOf(key, slots.Length);
            while (true)
            {
                ref var slot = ref slots[i];
                if (!slot.Used) break;
                if (slot.Key == key)
                {
                    entry = slot.Value;
                    return true;
                }
                if (++i == slots.Length) i = 0;
            }
            entry = default;
            return false;
        }

        private void Resize(int length)
        {
            var old = _slots;
            var slots = new Slot[Math.Max(length, 16)];
            foreach (ref readonly var slot in old.AsSpan())
            {
                if (!slot.Used) continue;
                int i = SlotOf(slot.Key, slots.Length);
                while (slots[i].Used)
                {
                    if (++i == slots.Length) i = 0;
                }
                slots[i] = slot;
            }
            _slots = slots;
        }
    }
}
