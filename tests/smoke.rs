mod support;
use support::*;
use webimage::*;

#[test]
fn loads_over_http() {
    let server = Server::start();
    server.route("/a.png", Route::ok(png(40, 30, 1)));
    let loader = ImageLoader::new(config(2)).unwrap();
    let img = loader.load_blocking(server.url("/a.png")).unwrap();
    assert_eq!((img.width(), img.height()), (40, 30));
    assert_eq!(img.source(), Source::Network);
    let again = loader.load_blocking(server.url("/a.png")).unwrap();
    assert_eq!(again.source(), Source::Memory);
    assert_eq!(server.hits("/a.png"), 1);
    println!("{:?}", loader.stats());
}
