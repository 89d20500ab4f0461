//! The upsampling filters against libjpeg's arithmetic, and each colour conversion on
//! single pixels.
//!
//! Owns: nothing but these tests. Must not touch: anything outside `super`.

use super::*;

/// A plane of `data`, `stride` samples wide, upsampled by `h` and `v`.
fn plane(data: Vec<u8>, stride: usize, h: Ratio, v: Ratio) -> Plane {
    let rows = data.len() / stride;
    Plane {
        data,
        stride,
        rows,
        h,
        v,
    }
}

#[test]
fn h2v1_matches_libjpeg() {
    let p = plane(vec![10, 50, 90], 3, Ratio::new(2, 1), Ratio::new(1, 1));
    let mut out = vec![0u8; 6];
    upsample_row(&p, 0, 1, &mut out, &mut Vec::new());
    // libjpeg: 10, (30+50+2)>>2=20, (150+10+1)>>2=40, (150+90+2)>>2=60,
    // (270+50+1)>>2=80, 90
    assert_eq!(out, [10, 20, 40, 60, 80, 90]);
}

#[test]
fn h2v2_flat_stays_flat() {
    let p = plane(vec![77; 4], 2, Ratio::new(2, 1), Ratio::new(2, 1));
    let mut out = vec![0u8; 3];
    for y in 0..3 {
        upsample_row(&p, y, 3, &mut out, &mut Vec::new());
        assert_eq!(out, [77, 77, 77]);
    }
}

#[test]
fn generic_ratio_two_matches_fancy_weights_and_flat_stays_flat() {
    // 3x: centred taps, the middle sample of each triple is exact.
    let p = plane(vec![0, 90, 180], 3, Ratio::new(3, 1), Ratio::new(1, 1));
    let mut out = vec![0u8; 9];
    upsample_row(&p, 0, 1, &mut out, &mut Vec::new());
    assert_eq!(out, [0, 0, 30, 60, 90, 120, 150, 180, 180]);
    // 3:2 and 4x vertically on a flat plane stay flat.
    for (h, v) in [
        (Ratio::new(3, 2), Ratio::new(4, 1)),
        (Ratio::new(4, 3), Ratio::new(3, 2)),
    ] {
        let p = plane(vec![77; 12], 4, h, v);
        let mut out = vec![0u8; 5];
        for y in 0..4 {
            upsample_row(&p, y, 4, &mut out, &mut Vec::new());
            assert_eq!(out, [77; 5]);
        }
    }
    assert_eq!(Ratio::new(8, 4), Ratio::new(2, 1));
}

#[test]
fn cmyk_and_ycck_multiply_by_k() {
    assert_eq!(
        (
            mul_k(255, 255),
            mul_k(0, 255),
            mul_k(255, 0),
            mul_k(200, 128)
        ),
        (255, 0, 0, 100)
    );
    // One pixel per component.
    let pixel = |samples: [u8; 4]| -> Vec<Plane> {
        let one = Ratio::new(1, 1);
        samples.map(|v| plane(vec![v], 1, one, one)).into()
    };
    let planes = pixel([255, 0, 128, 255]);
    assert_eq!(
        to_pixels(&planes, Transform::Cmyk, (1, 1), false).unwrap(),
        [255, 0, 128]
    );
    // YCCK: Y 255 / neutral chroma is white "RGB", i.e. full CMY ink: black.
    let ycck = pixel([255, 128, 128, 255]);
    assert_eq!(
        to_pixels(&ycck, Transform::Ycck, (1, 1), false).unwrap(),
        [0, 0, 0]
    );
    assert!(to_pixels(&ycck[..3], Transform::Ycck, (1, 1), false).is_err());
    // The inks as Adobe stores them (255 = no ink): CMYK passed through; YCCK's YCbCr
    // decodes to the CMY inks themselves, so white "RGB" is full ink, stored as 0.
    assert_eq!(
        to_pixels(&planes, Transform::Cmyk, (1, 1), true).unwrap(),
        [255, 0, 128, 255]
    );
    assert_eq!(
        to_pixels(&ycck, Transform::Ycck, (1, 1), true).unwrap(),
        [0, 0, 0, 255]
    );
    assert!(to_pixels(&planes[..3], Transform::YCbCr, (1, 1), true).is_err());
}

#[test]
fn ycc_gray_and_red() {
    let mut d = [0u8; 6];
    ycc_row(&[128, 76], &[128, 85], &[128, 255], &mut d);
    assert_eq!(&d[..3], &[128, 128, 128]);
    assert!(d[3] > 250 && d[4] < 5 && d[5] < 5, "{d:?}");
}
