//! The cohort kernel's stages on eight lanes with AVX-512 (F and DQ),
//! and the vector exponentials they use.
//!
//! Every stage does the IEEE operations of its scalar copy in the parent
//! module, in the same order and without fused multiply–add; the rare
//! cases (a normal's second candidate, an exponential beyond ±700, a
//! recovery candidate the squeeze does not accept, a test within the
//! floor's range, a count that needs an inversion or PTRS) run lane by
//! lane with the scalar code. The outcomes are therefore the scalar
//! lanes' bit for bit (`vector_and_plain_lanes_agree_bit_for_bit`).

use std::ops::Range;

use super::*;
use crate::fast_exp::avx512::exp_core_x8;
use crate::random::{GOLDEN, cohort_start_x8, next_of_x8, word_x8};

/// The stages on the eight lanes at once. Used only as the stages of
/// [`CohortKernel::run_avx512`], whose caller promises AVX-512 F and DQ:
/// the type is private to this module, so no other code can run them.
struct Avx512;

impl Stages for Avx512 {
    /// With AVX-512 for a screening at least an interval long (see
    /// `refill_x8`); lane by lane otherwise.
    #[inline(always)]
    fn refill<F: FnMut(KernelOutcome)>(
        kernel: &CohortKernel,
        lanes: &mut Lanes,
        pending: &mut Pending,
        key: u64,
        next: &mut u64,
        end: u64,
        sink: &mut F,
    ) {
        if kernel.interval <= kernel.duration {
            // SAFETY: `Avx512` runs only under `run_avx512` (see the type).
            unsafe { kernel.refill_x8(lanes, pending, key, next, end, sink) };
        } else {
            Scalar::refill(kernel, lanes, pending, key, next, end, sink);
        }
    }

    /// With AVX-512 for exponential and Gompertz growth (the closed form);
    /// lane by lane otherwise.
    #[inline(always)]
    fn blood(kernel: &CohortKernel, lanes: &mut Lanes, round: &mut Round) {
        if matches!(kernel.law, Law::Closed { .. }) {
            // SAFETY: as above.
            unsafe { kernel.blood_x8(lanes, round) };
        } else {
            Scalar::blood(kernel, lanes, round);
        }
    }

    #[inline(always)]
    fn prove(kernel: &CohortKernel, lanes: &mut Lanes, round: &mut Round) {
        // SAFETY: as above.
        unsafe { kernel.prove_x8(lanes, round) };
    }

    /// With AVX-512 where the kernel's samplers allow (`vector_open`);
    /// lane by lane otherwise.
    #[inline(always)]
    fn open(kernel: &CohortKernel, lanes: &mut Lanes, round: &Round, open: u8) -> (u8, u8) {
        if kernel.vector_open {
            // SAFETY: as above.
            unsafe { kernel.open_x8(lanes, round, open) }
        } else {
            Scalar::open(kernel, lanes, round, open)
        }
    }

    /// Every lane's (the lanes without a detection are not read).
    #[inline(always)]
    fn diameters(
        kernel: &CohortKernel,
        round: &Round,
        _detections: u8,
        ln_d: &mut [f64; LANES],
        d: &mut [f64; LANES],
    ) {
        // SAFETY: as above.
        unsafe { kernel.diameters_x8(round, ln_d, d) };
    }
}

/// [`exp`] on eight lanes with AVX-512 (the C library for the rare
/// arguments beyond ±700, lane by lane).
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn exp_x8(x: std::arch::x86_64::__m512d) -> std::arch::x86_64::__m512d {
    use std::arch::x86_64::*;
    let inside = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(_mm512_abs_pd(x), _mm512_set1_pd(LIMIT));
    let clamped = _mm512_mask_blend_pd(inside, _mm512_set1_pd(0.0), x);
    // SAFETY: AVX-512F is enabled here.
    let y = unsafe { exp_core_x8(clamped) };
    if inside == 0xff {
        return y;
    }
    // SAFETY: as above.
    unsafe { by_lane_outside(inside, x, y, f64::exp) }
}

/// [`expm1`] on eight lanes with AVX-512 (the same series; the C library
/// beyond it, lane by lane).
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn expm1_x8(x: std::arch::x86_64::__m512d) -> std::arch::x86_64::__m512d {
    use std::arch::x86_64::*;
    let inside = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(_mm512_abs_pd(x), _mm512_set1_pd(1.0 / 64.0));
    let mut term = x;
    let mut sum = x;
    for n in 2..=9 {
        term = _mm512_mul_pd(term, _mm512_mul_pd(x, _mm512_set1_pd(1.0 / n as f64)));
        sum = _mm512_add_pd(sum, term);
    }
    if inside == 0xff {
        return sum;
    }
    // SAFETY: AVX-512F is enabled here.
    unsafe { by_lane_outside(inside, x, sum, f64::exp_m1) }
}

/// `y` with the lanes outside `inside` replaced by `f` of `x`'s, lane by
/// lane: the C library for the vector functions' rare arguments.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn by_lane_outside(
    inside: u8,
    x: std::arch::x86_64::__m512d,
    y: std::arch::x86_64::__m512d,
    f: fn(f64) -> f64,
) -> std::arch::x86_64::__m512d {
    use std::arch::x86_64::*;
    let (mut xs, mut ys) = ([0.0; LANES], [0.0; LANES]);
    // SAFETY: the arrays hold eight f64 each.
    unsafe {
        _mm512_storeu_pd(xs.as_mut_ptr(), x);
        _mm512_storeu_pd(ys.as_mut_ptr(), y);
    }
    for l in bits(!inside) {
        ys[l] = f(xs[l]);
    }
    unsafe { _mm512_loadu_pd(ys.as_ptr()) }
}

impl CohortKernel {
    /// The lanes with the AVX-512 stages.
    ///
    /// # Safety
    ///
    /// The processor must have AVX-512F and AVX-512DQ.
    #[target_feature(enable = "avx512f,avx512dq")]
    pub(super) unsafe fn run_avx512<F: FnMut(KernelOutcome)>(
        &self,
        model: &ScreeningModel,
        seed: u64,
        range: Range<u64>,
        sink: &mut F,
    ) {
        self.run_lanes::<Avx512, F>(model, seed, range, sink)
    }

    /// ln d and d of every lane's tumour at its test with AVX-512 (the
    /// operations of the plain copy).
    #[target_feature(enable = "avx512f,avx512dq")]
    #[inline]
    unsafe fn diameters_x8(&self, round: &Round, ln_d: &mut [f64; LANES], d: &mut [f64; LANES]) {
        use std::arch::x86_64::*;
        // SAFETY: the arrays hold eight values; AVX-512F is enabled here.
        unsafe {
            let x = _mm512_div_pd(
                _mm512_add_pd(
                    _mm512_loadu_pd(round.ln_n.as_ptr()),
                    _mm512_set1_pd(self.ln_diameter_factor),
                ),
                _mm512_set1_pd(3.0),
            );
            _mm512_storeu_pd(ln_d.as_mut_ptr(), x);
            _mm512_storeu_pd(d.as_mut_ptr(), exp_x8(x));
        }
    }

    /// [`refill`](Self::refill) with AVX-512, for a screening at least an
    /// interval long (so a new individual's first test, within an interval,
    /// is never past the end): the lanes past the end leave in the order of
    /// the lanes, then the empty lanes take the next individuals in that
    /// order, expanded from the set-up ones (the same lanes and values).
    #[target_feature(enable = "avx512f,avx512dq")]
    #[inline]
    unsafe fn refill_x8<F: FnMut(KernelOutcome)>(
        &self,
        lanes: &mut Lanes,
        pending: &mut Pending,
        key: u64,
        next: &mut u64,
        end: u64,
        sink: &mut F,
    ) {
        use std::arch::x86_64::*;
        let load = |x: &[f64; LANES]| unsafe { _mm512_loadu_pd(x.as_ptr()) };
        let at = _mm512_add_pd(
            load(&lanes.phase),
            _mm512_mul_pd(load(&lanes.j), _mm512_set1_pd(self.interval)),
        );
        let over = lanes.live & _mm512_cmp_pd_mask::<_CMP_GT_OQ>(at, _mm512_set1_pd(self.duration));
        for l in bits(over) {
            sink(KernelOutcome {
                tests: lanes.tests[l],
                false_positives: lanes.fps[l],
                detection: None,
            });
        }
        lanes.live &= !over;
        let mut need = !lanes.live;
        while need != 0 {
            if pending.pos == pending.len {
                if *next >= end {
                    break;
                }
                let count = (end - *next).min(LANES as u64) as usize;
                // SAFETY: AVX-512F and DQ are enabled here.
                unsafe { self.setup_x8(key, *next, count, pending) };
                *next += count as u64;
            }
            // The lowest lanes of `need`, as many as are set up.
            let mut take = need;
            while take.count_ones() as usize > pending.len - pending.pos {
                take &= !(0x80 >> take.leading_zeros());
            }
            let p = pending.pos;
            // SAFETY: slots p.. of `pending` hold at least take.count_ones() individuals.
            unsafe {
                let expand = |to: &mut [f64; LANES], from: &[f64; LANES]| {
                    let v = _mm512_mask_expandloadu_pd(
                        _mm512_loadu_pd(to.as_ptr()),
                        take,
                        from.as_ptr().add(p),
                    );
                    _mm512_storeu_pd(to.as_mut_ptr(), v);
                };
                let set = |to: &mut [f64; LANES], v: f64| {
                    let v =
                        _mm512_mask_mov_pd(_mm512_loadu_pd(to.as_ptr()), take, _mm512_set1_pd(v));
                    _mm512_storeu_pd(to.as_mut_ptr(), v);
                };
                let rng = _mm512_mask_expandloadu_epi64(
                    _mm512_loadu_si512(lanes.rng.as_ptr().cast()),
                    take,
                    pending.rng.as_ptr().add(p).cast(),
                );
                _mm512_storeu_si512(lanes.rng.as_mut_ptr().cast(), rng);
                expand(&mut lanes.k, &pending.k);
                expand(&mut lanes.bk, &pending.bk);
                expand(&mut lanes.ln_s, &pending.ln_s);
                expand(&mut lanes.phase, &pending.phase);
                expand(&mut lanes.decay, &pending.decay);
                expand(&mut lanes.h, &pending.h);
                expand(&mut lanes.gfac, &pending.gfac);
                expand(&mut lanes.span, &pending.phase);
                expand(&mut lanes.m, &pending.bk);
                set(&mut lanes.j, 0.0);
                set(&mut lanes.decay_step, 1.0);
                set(&mut lanes.t_prev, 0.0);
            }
            for l in bits(take) {
                lanes.tests[l] = 0;
                lanes.fps[l] = 0;
            }
            pending.pos += take.count_ones() as usize;
            lanes.live |= take;
            need &= !take;
        }
    }

    /// [`setup_plain`](Self::setup_plain) for eight individuals with
    /// AVX-512: the same words and operations (the normal's rare second
    /// candidates and the exponentials' rare large arguments lane by lane).
    #[target_feature(enable = "avx512f,avx512dq")]
    #[inline]
    unsafe fn setup_x8(&self, key: u64, first: u64, count: usize, pending: &mut Pending) {
        use std::arch::x86_64::*;
        let set = |v: f64| _mm512_set1_pd(v);
        let entity = _mm512_add_epi64(
            _mm512_set1_epi64(first as i64),
            _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0),
        );
        // SAFETY: AVX-512F and DQ are enabled here.
        let mut state = unsafe { cohort_start_x8(key, entity) };
        let (accept, width) = self.normal.tables();
        let mut ln_f = [set(0.0); 3];
        for (x, f) in ln_f.iter_mut().zip(&self.factors) {
            let Some((mu, sigma)) = f else { continue };
            // SAFETY: as above.
            let w = unsafe { next_of_x8(&mut state) };
            let layer = _mm512_and_si512(w, _mm512_set1_epi64(0xff));
            let u = _mm512_add_epi64(
                _mm512_slli_epi64::<1>(_mm512_srli_epi64::<11>(w)),
                _mm512_set1_epi64(1 - (1i64 << 53)),
            );
            // SAFETY: layer < 256, the tables' length.
            let (limit, scale) = unsafe {
                (
                    _mm512_i64gather_epi64::<8>(layer, accept.as_ptr().cast()),
                    _mm512_i64gather_pd::<8>(layer, width.as_ptr()),
                )
            };
            let inside = _mm512_cmplt_epu64_mask(_mm512_abs_epi64(u), limit);
            let mut z = [0.0; LANES];
            unsafe {
                _mm512_storeu_pd(z.as_mut_ptr(), _mm512_mul_pd(_mm512_cvtepi64_pd(u), scale))
            };
            if inside & ((1u16 << count) - 1) as u8 != ((1u16 << count) - 1) as u8 {
                let mut words = [0u64; LANES];
                let mut states = [0u64; LANES];
                unsafe {
                    _mm512_storeu_si512(words.as_mut_ptr().cast(), w);
                    _mm512_storeu_si512(states.as_mut_ptr().cast(), state);
                }
                for p in 0..count {
                    if inside & (1 << p) == 0 {
                        let mut rng = CohortStream::from_state(states[p]);
                        z[p] = self.normal.finish(words[p], &mut rng);
                        states[p] = rng.state();
                    }
                }
                state = unsafe { _mm512_loadu_si512(states.as_ptr().cast()) };
            }
            let z = unsafe { _mm512_loadu_pd(z.as_ptr()) };
            *x = _mm512_add_pd(set(*mu), _mm512_mul_pd(set(*sigma), z));
        }
        // SAFETY: as above.
        let w = unsafe { next_of_x8(&mut state) };
        let phase = _mm512_mul_pd(
            _mm512_mul_pd(_mm512_cvtepu64_pd(_mm512_srli_epi64::<11>(w)), set(EPS53)),
            set(self.interval),
        );
        // SAFETY: as above.
        let k = _mm512_mul_pd(set(self.elimination), unsafe { exp_x8(ln_f[2]) });
        let bk = _mm512_mul_pd(set(self.background_amount), unsafe {
            exp_x8(_mm512_sub_pd(ln_f[0], ln_f[2]))
        });
        let ln_s = _mm512_add_pd(set(self.ln_source), ln_f[1]);
        let h = if self.one_step {
            phase
        } else {
            // ceil_steps(phase / max_step), then phase / steps.
            let x = _mm512_div_pd(phase, set(self.max_step));
            let s = _mm512_cvttpd_epu64(x);
            let up = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(_mm512_cvtepu64_pd(s), x)
                & _mm512_cmpneq_epu64_mask(s, _mm512_set1_epi64(-1));
            let s = _mm512_mask_add_epi64(s, up, s, _mm512_set1_epi64(1));
            let s = _mm512_max_epu64(s, _mm512_set1_epi64(1));
            _mm512_div_pd(phase, _mm512_cvtepu64_pd(s))
        };
        let (decay, gfac) = match self.law {
            Law::Closed { rate, .. } if rate > 0.0 => {
                // SAFETY: as above.
                let decay = unsafe { exp_x8(_mm512_mul_pd(set(-rate), phase)) };
                // −expm1(r·h)/h, the negation as a sign flip (as in `setup_plain`).
                let gfac = _mm512_div_pd(
                    _mm512_xor_pd(unsafe { expm1_x8(_mm512_mul_pd(set(rate), h)) }, set(-0.0)),
                    h,
                );
                (decay, gfac)
            }
            _ => (set(1.0), set(0.0)),
        };
        unsafe {
            _mm512_storeu_si512(pending.rng.as_mut_ptr().cast(), state);
            _mm512_storeu_pd(pending.k.as_mut_ptr(), k);
            _mm512_storeu_pd(pending.bk.as_mut_ptr(), bk);
            _mm512_storeu_pd(pending.ln_s.as_mut_ptr(), ln_s);
            _mm512_storeu_pd(pending.phase.as_mut_ptr(), phase);
            _mm512_storeu_pd(pending.h.as_mut_ptr(), h);
            _mm512_storeu_pd(pending.decay.as_mut_ptr(), decay);
            _mm512_storeu_pd(pending.gfac.as_mut_ptr(), gfac);
        }
        pending.len = count;
        pending.pos = 0;
    }

    /// [`blood_lane`](Self::blood_lane) on all lanes with AVX-512, for the
    /// closed-form laws: the same operations in the same order.
    #[target_feature(enable = "avx512f,avx512dq")]
    #[inline]
    unsafe fn blood_x8(&self, lanes: &mut Lanes, round: &mut Round) {
        use std::arch::x86_64::*;
        let Law::Closed { a, b, c, d, .. } = self.law else {
            unreachable!("closed-form law")
        };
        let load = |x: &[f64; LANES]| unsafe { _mm512_loadu_pd(x.as_ptr()) };
        let set = |v: f64| _mm512_set1_pd(v);
        let at = _mm512_add_pd(
            load(&lanes.phase),
            _mm512_mul_pd(load(&lanes.j), set(self.interval)),
        );
        let decay = _mm512_mul_pd(load(&lanes.decay), load(&lanes.decay_step));
        let bd = _mm512_mul_pd(set(b), decay);
        let ln_n = _mm512_add_pd(_mm512_add_pd(set(a), bd), _mm512_mul_pd(set(c), at));
        let gamma = _mm512_add_pd(_mm512_mul_pd(bd, load(&lanes.gfac)), set(d));
        let x = _mm512_add_pd(load(&lanes.ln_s), ln_n);
        let clamped = _mm512_min_pd(_mm512_max_pd(x, set(-EXP_RANGE)), set(EXP_RANGE));
        // SAFETY: AVX-512F is enabled here.
        let s1 = unsafe { exp_core_x8(clamped) };
        let k = load(&lanes.k);
        let h = load(&lanes.h);
        let kg = _mm512_add_pd(gamma, k);
        let closed = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(load(&lanes.span), set(0.0))
            & _mm512_cmp_pd_mask::<_CMP_GT_OQ>(_mm512_mul_pd(k, h), set(FORGETFUL_KH))
            & _mm512_cmp_pd_mask::<_CMP_LT_OQ>(_mm512_abs_pd(x), set(EXP_RANGE))
            & _mm512_cmp_pd_mask::<_CMP_GE_OQ>(_mm512_mul_pd(kg, h), set(1.0));
        let m_new = _mm512_add_pd(load(&lanes.bk), _mm512_div_pd(s1, kg));
        unsafe {
            _mm512_storeu_pd(lanes.decay.as_mut_ptr(), decay);
            _mm512_storeu_pd(round.m_new.as_mut_ptr(), m_new);
            _mm512_storeu_pd(round.at.as_mut_ptr(), at);
            _mm512_storeu_pd(round.ln_n.as_mut_ptr(), ln_n);
        }
        round.closed = closed;
    }

    /// [`prove_lane`](Self::prove_lane) on all lanes with AVX-512: the same
    /// words and the same operations in the same order.
    #[target_feature(enable = "avx512f,avx512dq")]
    #[inline]
    unsafe fn prove_x8(&self, lanes: &mut Lanes, round: &mut Round) {
        use std::arch::x86_64::*;
        let set = |v: f64| _mm512_set1_pd(v);
        let mut state = unsafe { _mm512_loadu_si512(lanes.rng.as_ptr().cast()) };
        // SAFETY: AVX-512F and DQ are enabled here.
        let (w1, w2, w3, w4) = unsafe {
            (
                next_of_x8(&mut state),
                next_of_x8(&mut state),
                next_of_x8(&mut state),
                next_of_x8(&mut state),
            )
        };
        unsafe { _mm512_storeu_si512(lanes.rng.as_mut_ptr().cast(), state) };
        let (cell, lo, top) = match &self.recovery {
            Recovery::Cells(b) => {
                let table = b.alias_table();
                let j = _mm512_srli_epi64::<54>(w1);
                let coin = _mm512_and_si512(
                    _mm512_srli_epi64::<1>(w1),
                    _mm512_set1_epi64(((1u64 << 53) - 1) as i64),
                );
                // SAFETY: j < 1024, the table's length.
                let entry = unsafe { _mm512_i64gather_epi64::<8>(j, table.as_ptr().cast()) };
                let kept = _mm512_cmplt_epu64_mask(coin, _mm512_srli_epi64::<10>(entry));
                let other = _mm512_and_si512(entry, _mm512_set1_epi64(0x3ff));
                let cell = _mm512_mask_blend_epi64(kept, other, j);
                let lo = _mm512_mul_pd(_mm512_cvtepu64_pd(cell), set(CELL_WIDTH));
                let top = _mm512_mul_pd(
                    _mm512_cvtepu64_pd(_mm512_add_epi64(cell, _mm512_set1_epi64(1))),
                    set(CELL_WIDTH),
                );
                (cell, lo, top)
            }
            Recovery::Fixed(r) => (_mm512_setzero_si512(), set(*r), set(*r)),
            Recovery::Gamma(_) => (_mm512_setzero_si512(), set(0.0), set(1.0)),
        };
        let uniform =
            |w: __m512i| _mm512_mul_pd(_mm512_cvtepu64_pd(_mm512_srli_epi64::<11>(w)), set(EPS53));
        let (u, u2, u3) = (uniform(w2), uniform(w3), uniform(w4));
        unsafe {
            _mm512_storeu_si512(round.cell.as_mut_ptr().cast(), cell);
            _mm512_storeu_pd(round.u.as_mut_ptr(), u);
            _mm512_storeu_pd(round.u2.as_mut_ptr(), u2);
            _mm512_storeu_pd(round.u3.as_mut_ptr(), u3);
        }
        let c = _mm512_mul_pd(
            unsafe { _mm512_loadu_pd(round.m_new.as_ptr()) },
            set(self.inv_plasma_volume),
        );
        let lambda = _mm512_mul_pd(_mm512_max_pd(c, set(0.0)), set(self.volume));
        let background = _mm512_mul_pd(
            unsafe { _mm512_loadu_pd(lanes.bk.as_ptr()) },
            set(self.inv_plasma_volume),
        );
        let share = _mm512_mask_blend_pd(
            _mm512_cmp_pd_mask::<_CMP_GT_OQ>(c, set(0.0)),
            set(1.0),
            _mm512_min_pd(_mm512_div_pd(background, c), set(1.0)),
        );
        unsafe {
            _mm512_storeu_pd(round.lambda.as_mut_ptr(), lambda);
            _mm512_storeu_pd(round.share.as_mut_ptr(), share);
        }
        let seen = set(self.seen);
        let mean_hi = _mm512_add_pd(_mm512_mul_pd(lambda, top), seen);
        let mut negative: __mmask8 = 0;
        let mut detected: __mmask8 = 0;
        if let Some(f) = &self.floor {
            let limit = set(f.limit());
            let floor_bound = |x: __m512d| {
                let i = _mm512_min_epu64(
                    _mm512_cvttpd_epu64(_mm512_mul_pd(x, set(f.inv_spacing()))),
                    _mm512_set1_epi64(f.bounds().len() as i64 - 1),
                );
                // SAFETY: i is below the table's length.
                unsafe { _mm512_i64gather_pd::<8>(i, f.bounds().as_ptr()) }
            };
            negative = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(mean_hi, limit)
                & _mm512_cmp_pd_mask::<_CMP_LT_OQ>(u, floor_bound(mean_hi));
            if let Some(ceiling) = &self.ceiling {
                let tumour_lo =
                    _mm512_mul_pd(_mm512_mul_pd(lambda, lo), _mm512_sub_pd(set(1.0), share));
                let background_hi =
                    _mm512_add_pd(_mm512_mul_pd(_mm512_mul_pd(lambda, top), share), seen);
                let i = _mm512_min_epu64(
                    _mm512_cvttpd_epu64(_mm512_mul_pd(tumour_lo, set(ceiling.inv_spacing()))),
                    _mm512_set1_epi64(ceiling.bounds().len() as i64 - 1),
                );
                // SAFETY: i is below the table's length.
                let ceiling_bound =
                    unsafe { _mm512_i64gather_pd::<8>(i, ceiling.bounds().as_ptr()) };
                detected = !negative
                    & _mm512_cmp_pd_mask::<_CMP_GE_OQ>(
                        _mm512_add_pd(_mm512_mul_pd(lambda, lo), seen),
                        limit,
                    )
                    & _mm512_cmp_pd_mask::<_CMP_GE_OQ>(tumour_lo, set(self.split_from))
                    & _mm512_cmp_pd_mask::<_CMP_GE_OQ>(u2, ceiling_bound)
                    & _mm512_cmp_pd_mask::<_CMP_LT_OQ>(background_hi, limit)
                    & _mm512_cmp_pd_mask::<_CMP_LT_OQ>(u3, floor_bound(background_hi));
            }
        }
        round.negative = negative;
        round.detected = detected;
    }

    /// [`open_lanes`](Self::open_lanes) with AVX-512 (when `vector_open`):
    /// the same words and operations per lane. Every word of a stream is a
    /// function of the stream's state, so the stage computes the words at
    /// the places each lane's test may take them, all lanes at once and
    /// without waiting for one another's table look-ups: the recovery's
    /// first candidate, the tumour's count by the table (means below
    /// `split_from`) or the ceiling's bound, the background's count by the
    /// table or the floor's bound, and the decision's uniform against
    /// q(T_t + T_b) and q(T_b); each lane's state then moves past the words
    /// its test took. The rare cases (a candidate the squeeze does not
    /// accept, a test within the floor's range, a count that needs an
    /// inversion or PTRS, a fraction's search past 4) take `open_with` lane
    /// by lane from the state after the recovery's words.
    #[target_feature(enable = "avx512f,avx512dq")]
    #[inline]
    unsafe fn open_x8(&self, lanes: &mut Lanes, round: &Round, open: u8) -> (u8, u8) {
        use std::arch::x86_64::*;
        let (Some(floor), Some(ceiling), Some(table)) = (&self.floor, &self.ceiling, &self.table)
        else {
            unreachable!("vector_open needs the floor, the ceiling and the table")
        };
        if open == 0 {
            return (0, 0);
        }
        let set = |v: f64| _mm512_set1_pd(v);
        let load = |x: &[f64; LANES]| unsafe { _mm512_loadu_pd(x.as_ptr()) };
        let uniform =
            |w: __m512i| _mm512_mul_pd(_mm512_cvtepu64_pd(_mm512_srli_epi64::<11>(w)), set(EPS53));
        let golden = |n: i64| _mm512_set1_epi64(n.wrapping_mul(GOLDEN as i64));
        // SAFETY (the words): AVX-512F and DQ are enabled here.
        let word = |state: __m512i, n: i64| unsafe { word_x8(_mm512_add_epi64(state, golden(n))) };
        let start = unsafe { _mm512_loadu_si512(lanes.rng.as_ptr().cast()) };
        // The recovery: the first candidate, if the squeeze accepts it.
        let (after, r, x, v, rejected) = match &self.recovery {
            Recovery::Fixed(r) => (start, set(*r), set(*r), set(0.0), 0),
            Recovery::Cells(b) => {
                let cell = unsafe { _mm512_loadu_si512(round.cell.as_ptr().cast()) };
                let x = _mm512_mul_pd(
                    _mm512_add_pd(_mm512_cvtepu64_pd(cell), uniform(word(start, 1))),
                    set(CELL_WIDTH),
                );
                let v = uniform(word(start, 2));
                // SAFETY: the cells are below the table's length.
                let squeeze = unsafe {
                    _mm512_mask_i64gather_pd::<8>(set(0.0), open, cell, b.squeezes().as_ptr())
                };
                let rejected = open & !_mm512_cmp_pd_mask::<_CMP_LT_OQ>(v, squeeze);
                (_mm512_add_epi64(start, golden(2)), x, x, v, rejected)
            }
            Recovery::Gamma(_) => unreachable!("vector_open needs cells or a fixed recovery"),
        };
        let isolated = _mm512_mul_pd(load(&round.lambda), r);
        let mean = _mm512_add_pd(isolated, set(self.seen));
        let share = load(&round.share);
        let mean_t = _mm512_mul_pd(isolated, _mm512_sub_pd(set(1.0), share));
        let mean_b = _mm512_add_pd(_mm512_mul_pd(isolated, share), set(self.seen));
        // Within the floor's range, or NaN: lane by lane.
        let mut by_lane = rejected
            | (open
                & (_mm512_cmp_pd_mask::<_CMP_LT_OQ>(mean, set(floor.limit()))
                    | _mm512_cmp_pd_mask::<_CMP_UNORD_Q>(mean_t, mean_b)));
        let split = open & !by_lane;
        // The tumour's count (`split_test`): the table below `split_from`
        // (two words), the ceiling's bound from there (u₂, no word).
        let by_ceiling = split & _mm512_cmp_pd_mask::<_CMP_GE_OQ>(mean_t, set(self.split_from));
        let by_table = split & !by_ceiling;
        // SAFETY: the table's means are in its range on the lanes of the mask.
        let (tumour, tumour_far) =
            unsafe { self.table_x8(table, by_table, mean_t, word(after, 1), word(after, 2)) };
        let i = _mm512_min_epu64(
            _mm512_cvttpd_epu64(_mm512_mul_pd(mean_t, set(ceiling.inv_spacing()))),
            _mm512_set1_epi64(ceiling.bounds().len() as i64 - 1),
        );
        // SAFETY: i is below the table's length.
        let bound = unsafe {
            _mm512_mask_i64gather_pd::<8>(set(0.0), by_ceiling, i, ceiling.bounds().as_ptr())
        };
        let over = by_ceiling & _mm512_cmp_pd_mask::<_CMP_GE_OQ>(load(&round.u2), bound);
        // The background's count: the floor's bound (u₃) over the ceiling
        // within the floor's range, else the table after the tumour's words.
        let by_floor = over & _mm512_cmp_pd_mask::<_CMP_LT_OQ>(mean_b, set(floor.limit()));
        let i = _mm512_min_epu64(
            _mm512_cvttpd_epu64(_mm512_mul_pd(mean_b, set(floor.inv_spacing()))),
            _mm512_set1_epi64(floor.bounds().len() as i64 - 1),
        );
        // SAFETY: i is below the table's length.
        let bound = unsafe {
            _mm512_mask_i64gather_pd::<8>(set(0.0), by_floor, i, floor.bounds().as_ptr())
        };
        let below_floor = by_floor & _mm512_cmp_pd_mask::<_CMP_LT_OQ>(load(&round.u3), bound);
        let b_tabled = split
            & !by_floor
            & _mm512_cmp_pd_mask::<_CMP_LT_OQ>(mean_b, set(table.limit()))
            & _mm512_cmp_pd_mask::<_CMP_GE_OQ>(mean_b, set(0.0));
        let b_start = _mm512_mask_add_epi64(after, by_table, after, golden(2));
        // SAFETY: as above.
        let (b, b_far) =
            unsafe { self.table_x8(table, b_tabled, mean_b, word(b_start, 1), word(b_start, 2)) };
        // Lane by lane: the tumour's count below the ceiling's bound
        // (inversion), the background's above the floor's (inversion) or
        // beyond the table (PTRS), a fraction's search past 4.
        by_lane |= (by_ceiling & !over)
            | (by_floor & !below_floor)
            | (split & !by_floor & !b_tabled)
            | tumour_far
            | b_far;
        let vector = open & !by_lane;
        // The decision (`positive`, `classify`): q of the total (1 over the
        // ceiling) and of the background's count (0 below the floor), one
        // uniform where either is strictly between 0 and 1.
        // SAFETY: AVX-512F and DQ are enabled here.
        let q_total = _mm512_mask_blend_pd(
            over,
            unsafe { self.q_x8(vector & !over, _mm512_add_pd(tumour, b)) },
            set(1.0),
        );
        let q_b = unsafe { self.q_x8(vector & !below_floor, b) };
        let (zero, one) = (set(0.0), set(1.0));
        let certain = vector & _mm512_cmp_pd_mask::<_CMP_GE_OQ>(q_total, one);
        let uncertain = vector
            & _mm512_cmp_pd_mask::<_CMP_GT_OQ>(q_total, zero)
            & _mm512_cmp_pd_mask::<_CMP_LT_OQ>(q_total, one);
        let b_positive = _mm512_cmp_pd_mask::<_CMP_NEQ_OQ>(q_b, zero);
        let b_certain = _mm512_cmp_pd_mask::<_CMP_GE_OQ>(q_b, q_total);
        let drawn = uncertain | (certain & b_positive & !b_certain);
        let d_start = _mm512_mask_add_epi64(b_start, b_tabled, b_start, golden(2));
        let u = uniform(word(d_start, 1));
        let positive = certain | (uncertain & _mm512_cmp_pd_mask::<_CMP_LT_OQ>(u, q_total));
        let fp = positive & b_positive & (b_certain | _mm512_cmp_pd_mask::<_CMP_LT_OQ>(u, q_b));
        let (mut false_positive, mut detected) = (fp, positive & !fp);
        // Each lane's state past its words: the vector lanes' and the others'
        // after the recovery.
        let end = _mm512_mask_add_epi64(d_start, drawn, d_start, golden(1));
        let end =
            _mm512_mask_blend_epi64(vector, _mm512_mask_blend_epi64(by_lane, start, after), end);
        unsafe { _mm512_storeu_si512(lanes.rng.as_mut_ptr().cast(), end) };
        if by_lane != 0 {
            let (mut xs, mut vs) = ([0.0; LANES], [0.0; LANES]);
            unsafe {
                _mm512_storeu_pd(xs.as_mut_ptr(), x);
                _mm512_storeu_pd(vs.as_mut_ptr(), v);
            }
            for l in bits(by_lane) {
                let mut rng = CohortStream::from_state(lanes.rng[l]);
                let r = match &self.recovery {
                    Recovery::Cells(b) if rejected & (1 << l) != 0 => {
                        b.within_after(round.cell[l] as usize, xs[l], vs[l], &mut rng)
                    }
                    _ => xs[l],
                };
                match self.open_with(l, round, r, &mut rng) {
                    Test::Negative => {}
                    Test::FalsePositive => false_positive |= 1 << l,
                    Test::Detection => detected |= 1 << l,
                }
                lanes.rng[l] = rng.state();
            }
        }
        (false_positive, detected)
    }

    /// [`PoissonTable::sample`] on the lanes of `mask` with AVX-512 (0 ≤ λ
    /// < the table's limit there), from its two words: the same operations.
    /// Also the lanes whose fraction searches past 4 (their value is not
    /// given).
    #[target_feature(enable = "avx512f,avx512dq")]
    #[inline]
    unsafe fn table_x8(
        &self,
        table: &PoissonTable,
        mask: u8,
        lambda: std::arch::x86_64::__m512d,
        w: std::arch::x86_64::__m512i,
        w_fraction: std::arch::x86_64::__m512i,
    ) -> (std::arch::x86_64::__m512d, u8) {
        use std::arch::x86_64::*;
        let set = |v: f64| _mm512_set1_pd(v);
        let ones = |v: u64| _mm512_set1_epi64(v as i64);
        if mask == 0 {
            return (set(0.0), 0);
        }
        let (rows, entries) = table.tables();
        let i = _mm512_cvttpd_epu64(lambda);
        let row = if table.fixed() {
            // Row i at i·256, first count 0, 2⁸ columns: the row word computed.
            _mm512_or_si512(_mm512_slli_epi64::<40>(i), ones(8))
        } else {
            // SAFETY: i is below the rows' length on the lanes of `mask`.
            unsafe {
                _mm512_mask_i64gather_epi64::<8>(
                    _mm512_setzero_si512(),
                    mask,
                    i,
                    rows.as_ptr().cast(),
                )
            }
        };
        let width = _mm512_and_si512(row, ones(0xff));
        // The top `width` bits (a shift by 64 gives 0), then 53 more.
        let column = _mm512_srlv_epi64(w, _mm512_sub_epi64(ones(64), width));
        let coin = _mm512_srli_epi64::<11>(_mm512_sllv_epi64(w, width));
        let at = _mm512_add_epi64(_mm512_srli_epi64::<32>(row), column);
        // SAFETY: the row's columns are within the entries.
        let entry = unsafe {
            _mm512_mask_i64gather_epi64::<8>(
                _mm512_setzero_si512(),
                mask,
                at,
                entries.as_ptr().cast(),
            )
        };
        let keep = _mm512_cmplt_epu64_mask(coin, _mm512_srli_epi64::<10>(entry));
        let j = _mm512_mask_blend_epi64(keep, _mm512_and_si512(entry, ones(0x3ff)), column);
        let first = _mm512_and_si512(_mm512_srli_epi64::<16>(row), ones(0xffff));
        let whole = _mm512_add_pd(_mm512_cvtepu64_pd(first), _mm512_cvtepu64_pd(j));
        let delta = _mm512_sub_pd(lambda, _mm512_cvtepu64_pd(i));
        let v = _mm512_mul_pd(
            _mm512_cvtepu64_pd(_mm512_srli_epi64::<11>(w_fraction)),
            set(EPS53),
        );
        // PoissonTable::fraction: −δ as a sign flip, δ in [0, 1).
        // SAFETY: AVX-512F is enabled here.
        let p0 = unsafe { exp_core_x8(_mm512_xor_pd(delta, set(-0.0))) };
        let p1 = _mm512_mul_pd(delta, p0);
        let c1 = _mm512_add_pd(p0, p1);
        let p2 = _mm512_mul_pd(_mm512_mul_pd(set(0.5), delta), p1);
        let c2 = _mm512_add_pd(c1, p2);
        // The search's next two steps as `fraction` takes them (p ·= δ·(1/k)).
        let p3 = _mm512_mul_pd(p2, _mm512_mul_pd(delta, set(1.0 / 3.0)));
        let c3 = _mm512_add_pd(c2, p3);
        let c4 = _mm512_add_pd(c3, _mm512_mul_pd(p3, _mm512_mul_pd(delta, set(1.0 / 4.0))));
        let step =
            |c: __m512d| _mm512_maskz_mov_pd(_mm512_cmp_pd_mask::<_CMP_GE_OQ>(v, c), set(1.0));
        let extra = _mm512_add_pd(
            _mm512_add_pd(step(p0), step(c1)),
            _mm512_add_pd(step(c2), step(c3)),
        );
        let far = mask & !_mm512_cmp_pd_mask::<_CMP_LT_OQ>(v, c4);
        (_mm512_add_pd(whole, extra), far)
    }

    /// [`Decision::q`] on the lanes of `mask` with AVX-512 (0 elsewhere), for
    /// a decision whose table covers every count between its ends.
    #[target_feature(enable = "avx512f,avx512dq")]
    #[inline]
    unsafe fn q_x8(&self, mask: u8, n: std::arch::x86_64::__m512d) -> std::arch::x86_64::__m512d {
        use std::arch::x86_64::*;
        let d = &self.decision;
        let set = |v: f64| _mm512_set1_pd(v);
        let above = mask & !_mm512_cmp_pd_mask::<_CMP_LT_OQ>(n, set(d.hi));
        let within = mask & !above & !_mm512_cmp_pd_mask::<_CMP_LT_OQ>(n, set(d.lo));
        let i = _mm512_min_epu64(
            _mm512_cvttpd_epu64(_mm512_sub_pd(n, set(d.lo))),
            _mm512_set1_epi64(d.table.len() as i64 - 1),
        );
        let q = if d.table.len() <= 32 {
            // Four registers of the table and two permutations (cheaper
            // than a gather); `q32` holds the table padded to 32 values.
            // SAFETY: q32 holds 32 values.
            let part = |k: usize| unsafe { _mm512_loadu_pd(self.q32[8 * k..].as_ptr()) };
            let low = _mm512_permutex2var_pd(part(0), i, part(1));
            let high = _mm512_permutex2var_pd(part(2), i, part(3));
            let upper = _mm512_test_epi64_mask(i, _mm512_set1_epi64(16));
            _mm512_maskz_mov_pd(within, _mm512_mask_blend_pd(upper, low, high))
        } else {
            // SAFETY: i is below the table's length.
            unsafe { _mm512_mask_i64gather_pd::<8>(set(0.0), within, i, d.table.as_ptr()) }
        };
        _mm512_mask_blend_pd(above, q, set(1.0))
    }
}
